"""`vton stage run`: pull a stage's inputs from the DVC remote, `dvc repro --single-item`, push its outputs.

This is how a stage runs in a container that has the code but not the data: the DVC remote (S3) carries
the data between workers, and the retrain's MLflow run carries dvc.lock (`dvc/dvc.lock` artifact), so the
next worker knows exactly which versions to pull and the final lock equals a local run's.
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

from components.errors import ConfigError, VtonError
from components.stage.lock import merge_locks, read_lock, write_lock

LOCK_ARTIFACT_DIR = "dvc"
LOCK_ARTIFACT = f"{LOCK_ARTIFACT_DIR}/dvc.lock"
STATUS_TAG = "vton.stage_status.{stage}"  # on the retrain's MLflow run: ran | skipped, per stage


class RemoteStageFailed(VtonError):
    """A DVC command around a remote stage failed; the message carries DVC's own words."""

    exit_code = 1


@dataclass
class RemoteStageResult:
    """What one remote stage did: what it pulled, whether it ran, what it pushed."""

    stage: str
    status: str  # ran | skipped
    pulled: list[str] = field(default_factory=list)
    pushed: list[str] = field(default_factory=list)
    seconds: float = 0.0

    def summary(self) -> str:
        """One line for logs and the CLI."""
        return (
            f"stage {self.stage}: {self.status} in {self.seconds:.1f}s; pulled {self.pulled or 'nothing'}; "
            f"pushed {self.pushed or 'nothing'}"
        )


def _dvc(args: list[str], root: Path, what: str, extra_env: dict[str, str] | None = None) -> str:
    """Run `dvc ARGS` in `root` with this interpreter; raise RemoteStageFailed with DVC's message on error."""
    env = {**os.environ, **(extra_env or {})}
    env["PATH"] = str(Path(sys.executable).parent) + os.pathsep + env.get("PATH", "")
    env.setdefault("DVC_NO_ANALYTICS", "1")
    proc = subprocess.run([sys.executable, "-m", "dvc", *args], cwd=root, env=env, capture_output=True, text=True)
    output = (proc.stdout + proc.stderr).strip()
    if proc.returncode != 0:
        lines = [ln for ln in output.splitlines() if ln.strip()]
        errors = [ln for ln in lines if ln.startswith(("ERROR", "error:", "  fix:"))] or lines[-8:]
        raise RemoteStageFailed(f"{what} failed: " + "\n".join(errors), hint=f"run `dvc {' '.join(args)}` in {root}")
    return output


def _overlaps(a: str, b: str) -> bool:
    a, b = a.rstrip("/"), b.rstrip("/")
    return a == b or a.startswith(b + "/") or b.startswith(a + "/")


def stage_inputs(root: Path, stage: str, sources_only: bool = False) -> list[str]:
    """The DVC-tracked paths `stage` depends on: outputs of other stages and `.dvc` files (only those if asked)."""
    from dvc.repo import Repo

    with Repo(str(root)) as repo:
        try:
            (target,) = repo.stage.collect(stage)
        except Exception as exc:  # noqa: BLE001 - DVC raises several kinds for an unknown stage
            raise ConfigError(f"no DVC stage named {stage!r}: {exc}", hint="see `dvc stage list`") from None
        deps = [d.def_path for d in target.deps]
        tracked = [
            o.def_path
            for o in repo.index.outs
            if o.stage.addressing != target.addressing and (not sources_only or o.stage.addressing.endswith(".dvc"))
        ]
    return sorted({out for out in tracked for dep in deps if _overlaps(dep, out)})


def push_source_inputs(root: Path, stage: str, remote: str | None = None) -> list[str]:
    """Push the `.dvc`-tracked data `stage` reads (e.g. data/raw) so workers without it can pull it."""
    sources = stage_inputs(root, stage, sources_only=True)
    if sources:
        # Materialised data (e.g. the bundled sample) may match its .dvc file without being in the cache yet.
        _dvc(["commit", "--force", *sources], root, f"caching the sources of {stage}")
        _dvc(["push", *(["--remote", remote] if remote else []), *sources], root, f"pushing the sources of {stage}")
    return sources


def stage_outputs(root: Path, stage: str) -> list[str]:
    """The paths `stage` writes that DVC caches (what a push uploads)."""
    from dvc.repo import Repo

    with Repo(str(root)) as repo:
        (target,) = repo.stage.collect(stage)
        return [o.def_path for o in target.outs if o.use_cache]


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
    profile: str | None = None,
) -> RemoteStageResult:
    """Pull `stage`'s inputs, reproduce it alone, push its outputs; with `run_id`, exchange dvc.lock via MLflow.

    `profile` is the retrain's: a worker's clone has the committed params.yaml, whose profile may differ."""
    from components.config.params import set_active_profile
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
    remote_args = ["--remote", remote] if remote else []
    inputs = stage_inputs(root, stage)
    if inputs:
        _dvc(["pull", *remote_args, *inputs], root, f"pulling the inputs of {stage} ({', '.join(inputs)})")
    outputs = stage_outputs(root, stage)
    if outputs and not force:
        # An unchanged stage whose outputs are already on the remote then costs a download, not a re-run.
        try:
            _dvc(["pull", *remote_args, stage], root, f"pulling the previous outputs of {stage}")
        except RemoteStageFailed:
            pass  # first run, or changed inputs: nothing to restore
    repro = ["repro", "--single-item", stage] + (["--force"] if force else [])
    output = _dvc(repro, root, f"stage {stage}", stage_env)
    status = "ran" if "Running stage" in output else "skipped"
    if outputs:
        _dvc(["push", *remote_args, stage], root, f"pushing the outputs of {stage}")
    if run_id:
        import mlflow

        publish_run_lock(run_id, root)
        mlflow.MlflowClient().set_tag(run_id, STATUS_TAG.format(stage=stage), status)
    return RemoteStageResult(stage, status, inputs, outputs, time.monotonic() - start)
