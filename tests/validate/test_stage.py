"""The validate stage for real: `dvc repro validate` in a temp git + DVC workspace writes the offline report and
the DVC metrics and logs to MLflow; a failing rule stops the retrain flow at validate with the summary on top."""

from __future__ import annotations

import json
import re
import sys

import mlflow
import pytest
import yaml

from components.manifest.schema import write_manifest
from tests.conftest import run
from tests.validate.factory import H, W, clean_dataset

pytestmark = pytest.mark.slow


def _prepare(ws, break_rule: bool = False) -> None:
    df = clean_dataset(ws / "data" / "augmented")
    if break_rule:
        df.loc[df["sample_id"] == "aug0", "parent_id"] = "up3te"  # an augmented copy of a test sample in train
    write_manifest(df, ws / "data" / "augmented")
    params = yaml.safe_load((ws / "params.yaml").read_text())
    params["annotate"].update(width=W, height=H)
    v = params["validate"]
    v["geometry"].update(min_side=128, person_aspect=[0.7, 0.8], garment_aspect=[0.7, 0.8])
    v["distribution"].update(min_samples={"train": 3, "test": 1}, max_category_ratio=3.0, test_fraction=[0.1, 0.5])
    params["profiles"]["smoke"]["validate"] = {"severity": {"integrity.garment_leakage": "warn"}}
    (ws / "params.yaml").write_text(yaml.safe_dump(params, sort_keys=False))


def test_dvc_repro_validate_writes_an_offline_report_and_tracked_metrics(workspace):
    _prepare(workspace)
    run([sys.executable, "-m", "dvc", "repro", "--single-item", "validate"], workspace)
    out = workspace / "reports" / "validate"
    metrics = json.loads((out / "metrics.json").read_text())
    assert metrics["gate_passed"] == 1 and metrics["errors"] == 0
    assert metrics["data"]["upper_body"]["n_ok"] == 5.0  # 3 train + 1 test + 1 augmented copy
    html = (out / "report.html").read_text()
    assert "Data-quality gate: passed" in html and "integrity.person_leakage" in html
    assert not re.search(r"<(link|script)\b|https?://[^\"']*\.(css|js)", html), "the report must work offline"
    shown = run([sys.executable, "-m", "dvc", "metrics", "show", "--json"], workspace).stdout
    assert "gate_passed" in shown
    lock = yaml.safe_load((workspace / "dvc.lock").read_text())
    assert "validate" in lock["stages"]
    mlflow.set_tracking_uri(f"sqlite:///{workspace / 'mlflow.db'}")
    runs = mlflow.search_runs(search_all_experiments=True, filter_string="tags.`vton.stage` = 'validate'")
    assert len(runs) == 1 and runs.iloc[0]["metrics.validate.gate_passed"] == 1.0
    artifacts = {a.path for a in mlflow.MlflowClient().list_artifacts(runs.iloc[0]["run_id"], "validate")}
    assert {"validate/report.html", "validate/metrics.json", "validate/suites.json"} <= artifacts


def test_a_failing_rule_stops_the_retrain_flow_at_validate_with_the_summary_shown_live_and_stated_once(workspace):
    _prepare(workspace, break_rule=True)
    # `vton retrain` in its own process, so Prefect reads this startup timeout (a busy CI machine can take
    # longer than the default 20 s to start the ephemeral server).
    proc = run([sys.executable, "-m", "components.cli", "retrain", "--stage", "validate"], workspace, check=False,
               env={"PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS": "300"})
    assert proc.returncode != 0
    errors = [line for line in proc.stderr.splitlines() if line.startswith("error:")]
    assert len(errors) == 1, proc.stderr  # stated once, not again under each of Prefect's records
    first = errors[0]
    assert first.startswith("error: stage 'validate' failed: error: data-quality gate FAILED")
    assert "integrity.augmented_leakage" in first and "aug0" in first and "upper_body 1" in first
    # The stage's own output reached the terminal live (DVC's lines, the gate's summary), with no traceback.
    assert "Running stage 'validate'" in proc.stdout and "data-quality gate FAILED" in proc.stdout
    assert "Traceback" not in proc.stdout + proc.stderr
    # the report explaining the failure is there even though DVC did not record the stage
    html = (workspace / "reports" / "validate" / "report.html").read_text()
    assert "Data-quality gate: FAILED" in html and "data:image/jpeg;base64," in html
