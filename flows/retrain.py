"""The retrain flow: the DVC stages in order, one Prefect task each, inside one MLflow run, then promotion.

DVC decides what runs (unchanged stages are skipped and dvc.lock records lineage); Prefect adds retries,
the run history, UI artifacts and the schedule; MLflow holds the figures of every stage in one run.
"""

from __future__ import annotations

import os
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path

from prefect import flow, get_run_logger, task
from prefect.artifacts import create_markdown_artifact, create_table_artifact
from prefect.runtime import flow_run

from components.config.params import load_params, set_active_profile
from components.project import project_root
from components.tracking.mlflow_run import RUN_ID_ENV, configure_mlflow, lineage_tags, tracking_uri
from flows.artifacts import publish_stage_pictures
from flows.dvc_stage import StageFailed, StageResult, is_transient_failure, run_dvc_stage
from flows.remote_stage import remote_stage, uses_remote


@dataclass
class RetrainSummary:
    """What one retrain did and where its results are."""

    profile: str
    mlflow_run_id: str
    mlflow_experiment_id: str
    tracking_uri: str
    prefect_flow_run_id: str | None
    root: Path
    stages: list[StageResult] = field(default_factory=list)
    promotion: str = "not run"
    no_op: bool = False
    data_diff: str = "not computed"

    def where_to_look(self) -> str:
        """A short, copy-pasteable guide to the results."""
        ran = ", ".join(f"{s.stage}={s.status}" for s in self.stages) or "none"
        lines = [
            f"retrain ({self.profile}) finished: {ran}",
            *(["  no-op:          no new data and no code change: DVC skipped every stage, nothing registered"]
              if self.no_op else []),
            f"  promotion:      {self.promotion}",
            f"  data vs champion: {self.data_diff.splitlines()[0] if self.data_diff else ''}",
            f"  MLflow run:     {self.mlflow_run_id} (experiment {self.mlflow_experiment_id})",
        ]
        if self.tracking_uri.startswith("sqlite:"):
            lines.append(f"  MLflow UI:      mlflow ui --backend-store-uri {self.tracking_uri} --port 5000")
            lines.append(
                f"                  then http://127.0.0.1:5000/#/experiments/{self.mlflow_experiment_id}"
                f"/runs/{self.mlflow_run_id}"
            )
        else:
            lines.append(f"  MLflow server:  {self.tracking_uri}")
        if self.prefect_flow_run_id:
            home = os.environ.get("PREFECT_HOME", "~/.prefect")
            lines.append(f"  Prefect run:    {self.prefect_flow_run_id}")
            lines.append(f"  Prefect UI:     PREFECT_HOME={home} prefect server start   (then http://127.0.0.1:4200)")
        reports = self.root / "reports"
        for label, path in (
            ("data quality", reports / "validate" / "report.html"),
            ("evaluation", reports / "evaluate" / "report.md"),
            ("review grid", reports / "evaluate" / "images"),
            ("annotations", reports / "annotate"),
            ("dataset", self.root / "data" / "augmented"),
        ):
            if path.exists():
                lines.append(f"  {label + ':':<15} {path}")
        return "\n".join(lines)


@task(name="prepare-data")
def prepare_raw_data(root: Path, refresh: bool = False) -> str:
    """Make sure data/raw holds the data data.dvc names: pull it from the DVC remote, else materialise the sample.

    `refresh` (scheduled runs) pulls even when data/raw exists, so a data.dvc updated in git brings its data.
    """
    logger = get_run_logger()
    raw = root / "data" / "raw"
    if raw.is_dir() and any(raw.iterdir()) and not refresh:
        return "present"
    pulled = subprocess.run(
        [sys.executable, "-m", "dvc", "pull", "data.dvc"], cwd=root, capture_output=True, text=True
    )
    if pulled.returncode == 0 and raw.is_dir() and any(raw.iterdir()):
        logger.info("pulled data/raw from the DVC remote")
        return "pulled"
    from components.data.sample_data import materialise_sample_data

    materialise_sample_data(raw)
    # Put the files in the DVC cache; data.dvc's md5 must not move (the sample is deterministic).
    subprocess.run([sys.executable, "-m", "dvc", "commit", "--force", "data.dvc"], cwd=root, capture_output=True)
    logger.info("materialised the bundled sample data into %s", raw)
    return "sample"


@task(name="start-tracking")
def start_tracking_run(root: Path, profile: str, experiment: str, flow_run_id: str | None) -> tuple[str, str]:
    """Open the retrain's MLflow run with lineage tags and params.yaml attached; return (run id, experiment id)."""
    import mlflow

    exp_id = configure_mlflow(experiment, root)
    tags = {**lineage_tags(profile, root), "vton.stage": "retrain"}
    if flow_run_id:
        tags["prefect.flow_run_id"] = flow_run_id
    with mlflow.start_run(experiment_id=exp_id, run_name=f"retrain-{profile}", tags=tags) as run:
        mlflow.log_artifact(str(root / "params.yaml"))
        if (root / "dvc.lock").is_file():
            mlflow.log_artifact(str(root / "dvc.lock"))
        return run.info.run_id, exp_id


@task(name="dvc-stage", task_run_name="{stage}", retry_condition_fn=is_transient_failure)
def dvc_stage(stage: str, root: Path, run_id: str, force: bool, reports: Path) -> StageResult:
    """One DVC stage; the stage attaches to the retrain's MLflow run through the environment."""
    result = run_dvc_stage(stage, root, {RUN_ID_ENV: run_id, "MLFLOW_TRACKING_URI": tracking_uri(root)}, force)
    get_run_logger().info("stage %s: %s in %.1fs", stage, result.status, result.seconds)
    if result.status != "skipped":
        publish_stage_pictures(stage, reports)
    return result


@task(name="promote")
def promote_candidate(root: Path, run_id: str, stages: list[StageResult]) -> str:
    """Hand the evaluated candidate to the registry's gates (issue: promotion); report the decision."""
    # Only an evaluate that ran in this retrain logged its figures to this run (skipped/restored did not).
    ran = {s.stage for s in stages if s.status == "ran"}
    if "evaluate" not in ran:
        return "skipped: no evaluated candidate in this retrain"
    proc = subprocess.run(
        [sys.executable, "-m", "components.cli", "registry", "promote", "--run-id", run_id],
        cwd=root,
        capture_output=True,
        text=True,
        env={**os.environ, "MLFLOW_TRACKING_URI": tracking_uri(root)},
    )
    if proc.returncode not in (0, 3):
        raise StageFailed("promote", proc.stderr.strip() or proc.stdout.strip(), transient=False)
    return (proc.stdout.strip().splitlines() or ["no decision printed"])[-1]


@task(name="data-diff")
def log_champion_data_diff(root: Path, run_id: str, registered_model: str, manifest: str) -> str:
    """Diff this retrain's data against the current champion's, on the MLflow run and as a Prefect artifact."""
    import mlflow

    from components.validate.diff import champion_data_diff, log_diff, render_markdown

    mlflow.set_tracking_uri(tracking_uri(root))
    try:
        diff = champion_data_diff(registered_model, manifest, root)
    except Exception as exc:  # noqa: BLE001 - the diff informs a reviewer; it must never fail a retrain
        get_run_logger().warning("could not diff against the champion's data: %s", exc)
        return f"unavailable: {exc}"[:300]
    if diff is None:
        return "no champion yet"
    with mlflow.start_run(run_id=run_id):
        log_diff(diff)
    create_markdown_artifact(key="data-diff", markdown=render_markdown(diff),
                             description="This retrain's data against the champion's")
    return diff.summary()


def _publish_summary(summary: RetrainSummary) -> None:
    rows = [
        {"stage": s.stage, "status": s.status, "seconds": round(s.seconds, 1), "detail": s.message[:200]}
        for s in summary.stages
    ]
    create_table_artifact(key="retrain-stages", table=rows, description=f"Stages of the {summary.profile} retrain")
    create_markdown_artifact(
        key="retrain-summary", markdown="```\n" + summary.where_to_look() + "\n```", description="Where to look"
    )


def always_changed_stages(root: Path) -> set[str]:
    """Stages dvc.yaml marks always_changed (e.g. scrape re-checks its sites every run)."""
    import yaml

    path = root / "dvc.yaml"
    stages = (yaml.safe_load(path.read_text()) or {}).get("stages", {}) if path.is_file() else {}
    return {name for name, spec in stages.items() if isinstance(spec, dict) and spec.get("always_changed")}


def is_no_op(stages: list[StageResult], root: Path) -> bool:
    """True when DVC skipped every stage (stages that always run, like scrape, count only if later ones ran)."""
    volatile = always_changed_stages(root)
    return bool(stages) and all(s.status == "skipped" or s.stage in volatile for s in stages)


@flow(name="retrain", log_prints=True)
def retrain_flow(
    profile: str | None = None,
    stages: list[str] | None = None,
    force: bool = False,
    root: str | None = None,
    stage_deployments: dict[str, str] | None = None,
    refresh_data: bool = False,
) -> RetrainSummary:
    """Reproduce the pipeline for `profile`, logging to one MLflow run, and finish with promotion."""
    import mlflow

    base = Path(root).resolve() if root else project_root()
    if profile:
        set_active_profile(base / "params.yaml", profile)
    params = load_params(base / "params.yaml")
    prepare_raw_data(base, refresh_data)
    run_id, exp_id = start_tracking_run(base, params.profile, params.project.mlflow_experiment, flow_run.get_id())
    summary = RetrainSummary(
        profile=params.profile,
        mlflow_run_id=run_id,
        mlflow_experiment_id=exp_id,
        tracking_uri=tracking_uri(base),
        prefect_flow_run_id=flow_run.get_id(),
        root=base,
    )
    status = "FINISHED"
    try:
        for stage in stages or params.flow.stages:
            task_with_retries = dvc_stage.with_options(
                retries=params.flow.retries, retry_delay_seconds=params.flow.retry_delay_seconds
            )
            try:
                if uses_remote(stage_deployments):  # infra: data via the DVC remote, stages on work pools
                    retried = remote_stage.with_options(
                        retries=params.flow.retries, retry_delay_seconds=params.flow.retry_delay_seconds
                    )
                    summary.stages.append(retried(stage, base, run_id, force, stage_deployments, params.profile))
                    continue
                summary.stages.append(task_with_retries(stage, base, run_id, force, base / params.paths.reports))
            except StageFailed as exc:
                summary.stages.append(StageResult(stage, "failed", 0.0, exc.message))
                raise
        summary.no_op = is_no_op(summary.stages, base)
        if not summary.no_op and (base / params.paths.augmented).is_dir():
            summary.data_diff = log_champion_data_diff(
                base, run_id, params.project.registered_model, params.paths.augmented
            )
        summary.promotion = promote_candidate(base, run_id, summary.stages)
        if summary.no_op:
            summary.promotion = "skipped: no-op (no new data, no code change)"
            get_run_logger().info("no-op: no new data and no code change; DVC skipped every stage, nothing registered")
    except BaseException:
        status = "FAILED"
        raise
    finally:
        mlflow.set_tracking_uri(tracking_uri(base))
        client = mlflow.MlflowClient()
        client.set_tag(run_id, "vton.stages", ", ".join(f"{s.stage}={s.status}" for s in summary.stages))
        client.set_tag(run_id, "vton.noop", str(summary.no_op).lower())
        if (base / "dvc.lock").is_file():
            client.log_artifact(run_id, str(base / "dvc.lock"))
        client.set_terminated(run_id, status=status)
        _publish_summary(summary)
    return summary
