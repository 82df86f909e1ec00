"""Stages that run elsewhere: on a Prefect work pool (a GPU node, a CPU node) or in-process against the remote.

The data moves through the DVC remote (S3) and dvc.lock through the retrain's MLflow run, so a stage run on
any worker leaves the same lineage as a local `dvc repro`. `stage_flow` is what the `vton-stage/cpu` and
`vton-stage/gpu` deployments in infra/prefect.yaml run; `remote_stage` is the retrain's task that routes to them.
"""

from __future__ import annotations

from pathlib import Path

from prefect import flow, get_run_logger, task

from components.project import project_root
from components.stage.dvc import StageStatus
from components.stage.runner import fetch_run_lock, push_source_inputs, run_remote_stage
from components.storage.dvc_remote import remote_from_env
from components.tracking.contract import stage_status_tag
from components.tracking.mlflow_run import tracking_uri
from flows.dvc_stage import StageResult, is_transient_failure
from flows.logs import stage_output_logger


def uses_remote(stage_deployments: dict[str, str] | None) -> bool:
    """Stages go through the DVC remote when deployments are given or the env names a team remote."""
    return bool(stage_deployments) or remote_from_env() is not None


def deployment_for(stage: str, stage_deployments: dict[str, str] | None) -> str | None:
    """The deployment that runs `stage` (its own entry, else `*`), or None to run it in this process."""
    routes = stage_deployments or {}
    return routes.get(stage) or routes.get("*")


@flow(name="vton-stage", log_prints=True)
def stage_flow(stage: str, mlflow_run_id: str | None = None, force: bool = False, remote: str | None = None,
               profile: str | None = None) -> str:
    """Run one DVC stage on this worker, under the retrain's profile: pull inputs, reproduce, push outputs, dvc.lock."""
    root = project_root()
    result = run_remote_stage(root, stage, remote, mlflow_run_id, force, profile, on_line=stage_output_logger())
    print(result.summary())
    return result.summary()


def _dispatch(stage: str, root: Path, run_id: str, force: bool, deployment: str, profile: str | None) -> StageResult:
    """Run `stage` as a flow run of `deployment` (its work pool picks the node) and take its dvc.lock back."""
    import time

    import mlflow
    from prefect.deployments import run_deployment

    start = time.monotonic()
    push_source_inputs(root, stage)
    flow_run = run_deployment(
        name=deployment,
        parameters={"stage": stage, "mlflow_run_id": run_id, "force": force, "profile": profile},
        timeout=None,
        as_subflow=True,
    )
    state = flow_run.state
    if state is None or not state.is_completed():
        name = state.name if state else "unknown"
        from components.stage.dvc import DvcFailed

        raise DvcFailed(f"stage '{stage}'", f"flow run {flow_run.name} of {deployment} ended {name}", stage_exit=2)
    mlflow.set_tracking_uri(tracking_uri(root))
    fetch_run_lock(run_id, root)
    recorded = mlflow.MlflowClient().get_run(run_id).data.tags.get(stage_status_tag(stage))
    if recorded is None:
        raise DvcFailed(f"stage '{stage}'", f"flow run {flow_run.name} of {deployment} completed without recording "
                        "the stage's status on the retrain's MLflow run", stage_exit=2)
    return StageResult(stage, StageStatus(recorded), time.monotonic() - start, f"on {deployment} ({flow_run.name})")


@task(name="remote-stage", task_run_name="{stage}", retry_condition_fn=is_transient_failure)
def remote_stage(
    stage: str, root: Path, run_id: str, force: bool, stage_deployments: dict[str, str] | None = None,
    profile: str | None = None,
) -> StageResult:
    """One stage through the DVC remote: on the deployment routed for it (told the retrain's profile), else
    pull/repro/push in this process."""
    deployment = deployment_for(stage, stage_deployments)
    if deployment:
        result = _dispatch(stage, root, run_id, force, deployment, profile)
    else:
        push_source_inputs(root, stage)
        done = run_remote_stage(root, stage, None, run_id, force, on_line=stage_output_logger())
        result = StageResult(stage, done.status, done.seconds, done.summary())
    get_run_logger().info("stage %s: %s (%s)", stage, result.status.value, result.message)
    return result
