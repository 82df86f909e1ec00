"""`vton stage run`: pull a stage's inputs from the DVC remote, `dvc repro --single-item`, push its outputs.

This is how a stage runs in a container that has the code but not the data: the DVC remote (S3) carries
the data between workers, and the retrain's MLflow run carries dvc.lock (`dvc/dvc.lock` artifact), so the
next worker knows exactly which versions to pull and the final lock equals a local run's.
"""

from __future__ import annotations

import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

from components.stage.dvc import Dvc, DvcFailed, StageStatus
from components.stage.lock import merge_locks, read_lock, write_lock
from components.tracking.contract import LOCK_ARTIFACT, LOCK_ARTIFACT_DIR, stage_status_tag



@dataclass
class RemoteStageResult:
    """What one remote stage did: what it pulled, whether it ran, what it pushed."""

    stage: str
    status: StageStatus
    pulled: list[str] = field(default_factory=list)
    pushed: list[str] = field(default_factory=list)
    seconds: float = 0.0
    log_path: Path | None = None

    def summary(self) -> str:
        """One line for logs and the CLI."""
        return (
            f"stage {self.stage}: {self.status.value} in {self.seconds:.1f}s; pulled {self.pulled or 'nothing'}; "
            f"pushed {self.pushed or 'nothing'}"
        )


def stage_inputs(root: Path, stage: str, sources_only: bool = False) -> list[str]:
    """The DVC-tracked paths `stage` depends on: outputs of other stages and `.dvc` files (only those if asked)."""
    return Dvc(root).stage_inputs(stage, sources_only)


def push_source_inputs(root: Path, stage: str, remote: str | None = None) -> list[str]:
    """Push the `.dvc`-tracked data `stage` reads (e.g. data/raw) so workers without it can pull it."""
    dvc = Dvc(root)
    sources = dvc.stage_inputs(stage, sources_only=True)
    if sources:
        # Materialised data (e.g. the bundled sample) may match its .dvc file without being in the cache yet.
        dvc.commit(*sources)
        dvc.push(*sources, remote=remote, what=f"pushing the sources of {stage}")
    return sources


def stage_outputs(root: Path, stage: str) -> list[str]:
    """The paths `stage` writes that DVC caches (what a push uploads)."""
    return Dvc(root).stage_outputs(stage)


def fetch_run_lock(run_id: str, root: Path) -> bool:
    """Merge the dvc.lock the retrain's MLflow run carries into `root`/dvc.lock; False if it has none yet."""
    import mlflow

    client = mlflow.MlflowClient()
    names = {a.path for a in client.list_artifacts(run_id, LOCK_ARTIFACT_DIR)}
    if LOCK_ARTIFACT not in names:
        return False
    with tempfile.TemporaryDirectory() as tmp:
        local = Path(client.download_artifacts(run_id, LOCK_ARTIFACT, tmp))
        incoming = read_lock(local)
    write_lock(root / "dvc.lock", merge_locks(read_lock(root / "dvc.lock"), incoming))
    return True


def publish_run_lock(run_id: str, root: Path) -> None:
    """Log `root`/dvc.lock to the retrain's MLflow run as `dvc/dvc.lock`, for the next worker and for lineage."""
    import mlflow

    mlflow.MlflowClient().log_artifact(run_id, str(root / "dvc.lock"), LOCK_ARTIFACT_DIR)


def run_remote_stage(
    root: Path, stage: str, remote: str | None = None, run_id: str | None = None, force: bool = False,
    profile: str | None = None, log_path: Path | None = None, on_line=None,  # noqa: ANN001 - a line callback
) -> RemoteStageResult:
    """Pull `stage`'s inputs, reproduce it alone, push its outputs; with `run_id`, exchange dvc.lock via MLflow.

    `profile` is the retrain's: a worker's clone has the committed params.yaml, whose profile may differ."""
    from components.config.loader import set_active_profile
    from components.tracking.mlflow_run import RUN_ID_ENV, tracking_uri

    start = time.monotonic()
    if profile:
        set_active_profile(root / "params.yaml", profile)
    # The stage's own `vton` command attaches to the retrain's MLflow run through these.
    stage_env = {
        "MLFLOW_TRACKING_URI": tracking_uri(root),
        "VTON_PROJECT_ROOT": str(root),  # this checkout, whatever the caller's environment says
        **({RUN_ID_ENV: run_id} if run_id else {}),
    }
    if run_id:
        import mlflow

        mlflow.set_tracking_uri(tracking_uri(root))
        fetch_run_lock(run_id, root)
    dvc = Dvc(root)
    inputs = dvc.stage_inputs(stage)
    if inputs:
        dvc.pull(*inputs, remote=remote, what=f"pulling the inputs of {stage} ({', '.join(inputs)})")
    outputs = dvc.stage_outputs(stage)
    if outputs and not force:
        # An unchanged stage whose outputs are already on the remote then costs a download, not a re-run.
        try:
            dvc.pull(stage, remote=remote, what=f"pulling the previous outputs of {stage}")
        except DvcFailed:
            pass  # first run, or changed inputs: nothing to restore
    status = StageStatus.FAILED
    try:
        done = dvc.repro(stage, force=force, log_path=log_path, on_line=on_line, extra_env=stage_env)
        status = done.status
        if outputs:
            dvc.push(stage, remote=remote, what=f"pushing the outputs of {stage}")
    finally:
        if run_id:
            import mlflow

            if status is not StageStatus.FAILED:
                publish_run_lock(run_id, root)
            mlflow.MlflowClient().set_tag(run_id, stage_status_tag(stage), status.value)
    return RemoteStageResult(stage, status, inputs, outputs, time.monotonic() - start, log_path)
