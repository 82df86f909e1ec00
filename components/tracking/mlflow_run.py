"""Attach to the retrain's MLflow run (or start a standalone one) with embedded defaults.

Locally MLflow uses SQLite in the project (`sqlite:///<root>/mlflow.db`) and a local artifact root
(`<root>/mlartifacts`); MLFLOW_TRACKING_URI switches to a server. The retrain flow creates the run and
passes its id to every stage through VTON_MLFLOW_RUN_ID, so all figures of one retrain land together. Stages
the retrain starts before its run exists (their DVC process starts while Prefect starts) get a file instead,
VTON_MLFLOW_RUN_ID_FILE, into which the retrain writes the id once the run is open; they wait for it only
when they first log.
"""

from __future__ import annotations

import contextlib
import fnmatch
import hashlib
import json
import os
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

from components.errors import VtonError
from components.file_store import write_atomically
from components.project import project_root
from components.tracking.contract import Tag
from components.yaml_text import parse_yaml

RUN_ID_ENV = "VTON_MLFLOW_RUN_ID"
RUN_ID_FILE_ENV = "VTON_MLFLOW_RUN_ID_FILE"  # a file the retrain writes its run id into once the run is open
RUN_ID_WAIT_ENV = "VTON_MLFLOW_RUN_ID_WAIT_S"  # how long a stage waits for that id (default 600 s)
_ABANDONED = "abandoned:"  # what the retrain writes there instead when it ends before opening its run


def hand_over_run_id(path: Path, run_id: str) -> None:
    """Write the retrain's run id for the stages waiting on `path` (atomically: a reader sees all of it or none)."""
    write_atomically(Path(path), run_id.encode())


def abandon_run_id(path: Path, reason: str) -> None:
    """Tell the stages waiting on `path` that no run will be opened (the retrain failed or was stopped first)."""
    write_atomically(Path(path), f"{_ABANDONED} {reason}".encode())


def retrain_run_id() -> str | None:
    """The retrain's run a stage logs into (VTON_MLFLOW_RUN_ID, else the id written to VTON_MLFLOW_RUN_ID_FILE,
    waited for), or None for a standalone stage. Raises VtonError when the retrain opens no run."""
    run_id = os.environ.get(RUN_ID_ENV)
    path = os.environ.get(RUN_ID_FILE_ENV)
    if run_id or not path:
        return run_id or None
    limit = float(os.environ.get(RUN_ID_WAIT_ENV) or 600)
    deadline = time.monotonic() + limit
    while True:
        try:
            text = Path(path).read_text().strip()
        except FileNotFoundError:
            text = ""
        if text.startswith(_ABANDONED):
            reason = text.removeprefix(_ABANDONED).strip()
            raise VtonError(f"the retrain that started this stage opened no MLflow run ({reason})",
                            hint="see the retrain's own message; run the stage alone with `dvc repro <stage>`")
        if text:
            os.environ[RUN_ID_ENV] = text  # once, for this process and the commands it starts
            return text
        if time.monotonic() > deadline:
            raise VtonError(f"waited {limit:.0f}s for the retrain's MLflow run id in {path}",
                            hint=f"raise {RUN_ID_WAIT_ENV} on a busy machine, or run the stage alone with "
                            "`dvc repro <stage>`")
        time.sleep(0.05)


def tracking_uri(root: Path | None = None) -> str:
    """MLFLOW_TRACKING_URI if set, else a SQLite store in the project root."""
    return os.environ.get("MLFLOW_TRACKING_URI") or f"sqlite:///{(root or project_root()) / 'mlflow.db'}"


def artifact_root(root: Path | None = None) -> str:
    """Where a new experiment stores artifacts: MLFLOW_ARTIFACT_ROOT, or `<root>/mlartifacts` locally."""
    env = os.environ.get("MLFLOW_ARTIFACT_ROOT")
    if env:
        return env
    return (root or project_root()).joinpath("mlartifacts").resolve().as_uri()


def configure_mlflow(experiment: str, root: Path | None = None) -> str:
    """Point mlflow at the configured store, make sure `experiment` exists and make it active; return its id."""
    import mlflow

    mlflow.set_tracking_uri(tracking_uri(root))
    client = mlflow.MlflowClient()
    exp = client.get_experiment_by_name(experiment)
    if exp is None:
        # A server with --serve-artifacts picks its own artifact root; only set one for local stores.
        location = None if os.environ.get("MLFLOW_TRACKING_URI", "").startswith("http") else artifact_root(root)
        try:
            client.create_experiment(experiment, artifact_location=location)
        except Exception:  # another process created it first
            pass
        exp = client.get_experiment_by_name(experiment)
        if exp is None:
            raise RuntimeError(f"MLflow experiment {experiment!r} could not be created at {tracking_uri(root)}")
    # Also exports MLFLOW_EXPERIMENT_ID, so the stages this process starts log to the same experiment.
    mlflow.set_experiment(experiment_id=exp.experiment_id)
    return exp.experiment_id


@contextlib.contextmanager
def stage_run(stage: str, experiment: str = "vton-pipeline", root: Path | None = None) -> Iterator[object]:
    """The active MLflow run for `stage`: the retrain's run (`retrain_run_id`) when there is one, else a new one."""
    import mlflow

    run_id = retrain_run_id()  # first: a stage started before the retrain's run opens the store only after it
    exp_id = configure_mlflow(experiment, root)
    if run_id:
        # The retrain owns its run's status: a stage logs into it and leaves it RUNNING, so a retrain killed
        # between stages is never recorded as FINISHED (the flow ends it FINISHED or FAILED).
        with attached_run(run_id) as run:
            yield run
    else:
        with mlflow.start_run(experiment_id=exp_id, run_name=stage, tags={Tag.STAGE: stage}) as run:
            yield run


@contextlib.contextmanager
def attached_run(run_id: str) -> Iterator[object]:
    """Log into the existing run `run_id` as the active run, and leave it RUNNING afterwards (its owner ends it)."""
    import mlflow

    run = mlflow.start_run(run_id=run_id)
    try:
        yield run
    finally:
        _detach(run_id)


def _detach(run_id: str) -> None:
    """Make `run_id` no longer this process's active run without finishing it: end it with the status RUNNING.

    Public API only (mlflow.end_run); MLflow records an end time with it, which the owner's final
    set_terminated (FINISHED | FAILED | KILLED) replaces."""
    import mlflow
    from mlflow.entities import RunStatus

    active = mlflow.active_run()
    if active is not None and active.info.run_id == run_id:
        mlflow.end_run(status=RunStatus.to_string(RunStatus.RUNNING))


def data_version(root: Path | None = None) -> str | None:
    """The md5 that data.dvc records for the raw data, or None outside a DVC project."""
    path = (root or project_root()) / "data.dvc"
    if not path.is_file():
        return None
    outs = (parse_yaml(path.read_text()) or {}).get("outs") or [{}]
    return outs[0].get("md5")


# Files the pipeline itself rewrites (the active profile, DVC's lock and pointers, DVC's .gitignore entries):
# they are recorded beside the code version (profile, params hash, dvc.lock artifact), not as code changes.
_NOT_CODE_AT_ROOT = ("params.yaml", "dvc.lock")
_NOT_CODE_ANYWHERE = ("*.dvc", ".gitignore")


def _git(args: list[str], cwd: Path) -> str:
    return subprocess.run(["git", *args], cwd=cwd, capture_output=True, text=True, check=True).stdout


def dirty_code_files(root: Path | None = None) -> list[str] | None:
    """Tracked files that differ from HEAD, leaving out the pipeline's own state files; None outside git."""
    cwd = root or project_root()
    try:
        changed = _git(["status", "--porcelain", "--untracked-files=no", "--", "."], cwd)
    except (subprocess.CalledProcessError, FileNotFoundError):
        return None
    files = [line[3:].split(" -> ")[-1].strip('"') for line in changed.splitlines() if line.strip()]
    return [f for f in files if f not in _NOT_CODE_AT_ROOT
            and not any(fnmatch.fnmatch(Path(f).name, pat) for pat in _NOT_CODE_ANYWHERE)]


def git_commit(root: Path | None = None) -> str | None:
    """HEAD's commit hash (with `-dirty` when tracked code differs from it), or None outside git."""
    cwd = root or project_root()
    try:
        sha = _git(["rev-parse", "HEAD"], cwd).strip()
    except (subprocess.CalledProcessError, FileNotFoundError):
        return None
    return f"{sha}-dirty" if dirty_code_files(cwd) else sha


def params_hash(params: object) -> str:
    """sha256 of the resolved params (a pydantic model or mapping) as canonical JSON: what the stages were given."""
    data = params.model_dump(mode="json", by_alias=True) if hasattr(params, "model_dump") else params
    return hashlib.sha256(json.dumps(data, sort_keys=True, separators=(",", ":")).encode()).hexdigest()


def lineage_tags(profile: str, root: Path | None = None, params: object | None = None) -> dict[str, str]:
    """The tags every retrain run carries: data version, code version (dirty files), profile and params hash."""
    tags = {Tag.PROFILE: profile}
    if (dv := data_version(root)) is not None:
        tags[Tag.DATA_VERSION] = dv
    if (commit := git_commit(root)) is not None:
        tags[Tag.CODE_VERSION] = commit
        if commit.endswith("-dirty"):
            tags[Tag.CODE_DIRTY_FILES] = ", ".join(dirty_code_files(root) or [])[:500]
    if params is not None:
        tags[Tag.PARAMS_HASH] = params_hash(params)
    return tags


def log_image_artifact(image, artifact_path: str) -> None:
    """Log a PIL image or HxWx3 uint8 array to the active run at `artifact_path` (e.g. `annotate/overlay.png`)."""
    import mlflow
    import numpy as np
    from PIL import Image

    if isinstance(image, np.ndarray):
        image = Image.fromarray(image)
    mlflow.log_image(image, artifact_file=artifact_path)
