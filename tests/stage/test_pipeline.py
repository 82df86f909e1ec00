"""dvc.yaml as DVC runs it: the data gate gates training (`dvc repro train` runs validate first and stops there)."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest
import yaml

from tests.conftest import run
from tests.validate.test_stage import _prepare

REPO = Path(__file__).resolve().parents[2]
pytestmark = pytest.mark.slow


def _from_validate_on(ws: Path) -> None:
    """Drop the stages before validate, so the test's own data/augmented is a plain input (as augment's output)."""
    spec = yaml.safe_load((ws / "dvc.yaml").read_text())
    for upstream in ("scrape", "import", "annotate", "augment"):
        spec["stages"].pop(upstream)
    (ws / "dvc.yaml").write_text(yaml.safe_dump(spec, sort_keys=False))
    params = yaml.safe_load((ws / "params.yaml").read_text())
    params["flow"]["stages"] = list(spec["stages"])  # checked against dvc.yaml at load
    (ws / "params.yaml").write_text(yaml.safe_dump(params, sort_keys=False))


def test_train_is_downstream_of_the_validate_gate_in_dvcs_own_graph():
    dag = run([sys.executable, "-m", "dvc", "dag", "--md", "train"], REPO).stdout
    assert "validate" in dag and "train" in dag
    stages = yaml.safe_load((REPO / "dvc.yaml").read_text())["stages"]
    assert "${paths.reports}/validate/gate.json" in stages["train"]["deps"]


def test_dvc_repro_train_runs_validate_first_and_stops_on_an_error_rule(workspace):
    _prepare(workspace, break_rule=True)
    _from_validate_on(workspace)
    proc = run([sys.executable, "-m", "dvc", "repro", "train"], workspace, check=False)
    out = proc.stdout + proc.stderr
    assert proc.returncode != 0
    assert "Running stage 'validate'" in out and "data-quality gate FAILED" in out
    assert "Running stage 'train'" not in out
    assert not (workspace / "models" / "candidate").exists()
    assert not (workspace / "reports" / "validate" / "gate.json").exists()


def test_a_passing_gate_leaves_the_constant_token_train_depends_on(workspace):
    _prepare(workspace)
    _from_validate_on(workspace)
    run([sys.executable, "-m", "dvc", "repro", "--single-item", "validate"], workspace)
    token = workspace / "reports" / "validate" / "gate.json"
    assert json.loads(token.read_text()) == {"gate": "passed"}
    status = json.loads(run([sys.executable, "-m", "dvc", "status", "--json", "validate"], workspace).stdout)
    assert status == {}
