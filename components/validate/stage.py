"""The validate stage's I/O shell (`run`): read the manifest, check it, write report + metrics, log to MLflow, gate."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from components.params import Params
from components.project import resolve
from components.errors import GateFailed
from components.manifest.schema import MANIFEST_FILENAME, read_manifest
from components.validate.facts import build_facts
from components.validate.gate import GateResult, run_gate
from components.validate.metrics import flatten, metrics_document, write_metrics
from components.validate.params import ValidateParams
from components.tracking.contract import Metric, Tag, metric_key
from components.validate.report import render_report

GATE_FILENAME = "gate.json"


def validate_manifest(
    df: pd.DataFrame, dataset_dir: Path, params: ValidateParams, frame_area: float, seed: int = 0, dataset: str = ""
) -> GateResult:
    """Check a manifest (a DataFrame of `dataset_dir`) against every rule; returns the verdicts, raises nothing."""
    facts = build_facts(df, Path(dataset_dir), params, frame_area, seed)
    return run_gate(facts, params, dataset or str(dataset_dir))


def enforce(result: GateResult, report_path: str | None = None) -> None:
    """Raise GateFailed with the one-paragraph summary when an `error` rule failed."""
    if not result.passed:
        raise GateFailed(
            result.summary(report_path),
            hint="fix the data (or, if a rule is wrong for this data, its threshold or severity under "
            "validate in params.yaml) and re-run `vton validate`",
        )


def _log_to_mlflow(result: GateResult, params: Params, report: Path, metrics: Path, suites: Path) -> None:
    import mlflow

    from components.tracking.mlflow_run import stage_run

    with stage_run("validate", params.project.mlflow_experiment):
        mlflow.log_metrics({metric_key(Metric.VALIDATE, k): v for k, v in flatten(metrics_document(result)).items()})
        mlflow.set_tag(Tag.VALIDATE_GATE, "passed" if result.passed else "failed")
        for path in (report, metrics, suites):
            mlflow.log_artifact(str(path), artifact_path="validate")


@dataclass
class ValidateResult:
    """The gate's verdicts (a passed gate: no `error` rule failed) and where the report went."""

    gate: GateResult
    out_dir: Path

    def summary(self) -> str:
        """The gate's one-paragraph summary, naming the report."""
        return self.gate.summary(str(self.out_dir / "report.html"))


def run(params: Params, root: Path, manifest: Path | None = None, out: Path | None = None,
        log_mlflow: bool = True) -> ValidateResult:
    """Check `manifest` (a dataset dir or manifest.parquet; default paths.augmented) and write
    `out` (default <paths.reports>/validate)/{report.html,metrics.json,suites.json}; raises GateFailed on errors."""
    from components.validate.suites import suite_documents

    manifest_dir = resolve(manifest or params.paths.augmented, root)
    out_dir = resolve(out or Path(params.paths.reports) / "validate", root)
    dataset_dir = manifest_dir.parent if manifest_dir.name == MANIFEST_FILENAME else manifest_dir
    df = read_manifest(dataset_dir)
    frame_area = float(params.annotate.width * params.annotate.height)
    result = validate_manifest(df, dataset_dir, params.validate_, frame_area, params.project.seed, str(dataset_dir))
    out_dir.mkdir(parents=True, exist_ok=True)
    report = out_dir / "report.html"
    report.write_text(render_report(result, df, dataset_dir, params.profile))
    metrics = write_metrics(result, out_dir / "metrics.json")
    suites = out_dir / "suites.json"
    suites.write_text(json.dumps(suite_documents(params.validate_), indent=2, default=str) + "\n")
    if log_mlflow:
        _log_to_mlflow(result, params, report, metrics, suites)
    gate = out_dir / GATE_FILENAME
    gate.unlink(missing_ok=True)
    enforce(result, str(report))
    write_gate_file(gate)
    return ValidateResult(result, out_dir)


def write_gate_file(path: Path) -> Path:
    """The passed gate's token, which the train stage depends on (dvc.yaml): `dvc repro train` runs validate first.

    Its content is constant, so a change in warnings or thresholds never retrains; a failed gate writes none
    (and exits 3), so nothing downstream runs."""
    path.write_text(json.dumps({"gate": "passed"}) + "\n")
    return path
