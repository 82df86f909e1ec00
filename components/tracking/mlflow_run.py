"""Attach to the retrain's MLflow run (or start a standalone one) with embedded defaults.

Locally MLflow uses SQLite in the project (`sqlite:///<root>/mlflow.db`) and a local artifact root
(`<root>/mlartifacts`); MLFLOW_TRACKING_URI switches to a server. The retrain flow creates the run and
passes its id to every stage through VTON_MLFLOW_RUN_ID, so all figures of one retrain land together.
"""

from __future__ import annotations

import contextlib
import os
import subprocess
from collections.abc import Iterator
from pathlib import Path

import yaml

from components.project import project_root

RUN_ID_ENV = "VTON_MLFLOW_RUN_ID"


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
    """The active MLflow run for `stage`: the retrain's run if VTON_MLFLOW_RUN_ID is set, else a new one."""
    import mlflow

    exp_id = configure_mlflow(experiment, root)
    run_id = os.environ.get(RUN_ID_ENV)
    if run_id:
        with mlflow.start_run(run_id=run_id) as run:
            yield run
    else:
        with mlflow.start_run(experiment_id=exp_id, run_name=stage, tags={"vton.stage": stage}) as run:
            yield run


def data_version(root: Path | None = None) -> str | None:
    """The md5 that data.dvc records for the raw data, or None outside a DVC project."""
    path = (root or project_root()) / "data.dvc"
    if not path.is_file():
        return None
    outs = (yaml.safe_load(path.read_text()) or {}).get("outs") or [{}]
    return outs[0].get("md5")


def git_commit(root: Path | None = None) -> str | None:
    """HEAD's commit hash (with `-dirty` when the tree has changes), or None outside git."""
    cwd = root or project_root()
    try:
        sha = subprocess.run(
            ["git", "rev-parse", "HEAD"], cwd=cwd, capture_output=True, text=True, check=True
        ).stdout.strip()
        dirty = subprocess.run(
            ["git", "status", "--porcelain", "--untracked-files=no"], cwd=cwd, capture_output=True, text=True
        ).stdout.strip()
    except (subprocess.CalledProcessError, FileNotFoundError):
        return None
    return f"{sha}-dirty" if dirty else sha


def lineage_tags(profile: str, root: Path | None = None) -> dict[str, str]:
    """The tags every retrain run carries: data version, code version and profile."""
    tags = {"vton.profile": profile}
    if (dv := data_version(root)) is not None:
        tags["vton.data_version"] = dv
    if (commit := git_commit(root)) is not None:
        tags["vton.code_version"] = commit
    return tags


def log_image_artifact(image, artifact_path: str) -> None:
    """Log a PIL image or HxWx3 uint8 array to the active run at `artifact_path` (e.g. `annotate/overlay.png`)."""
    import mlflow
    import numpy as np
    from PIL import Image

    if isinstance(image, np.ndarray):
        image = Image.fromarray(image)
    mlflow.log_image(image, artifact_file=artifact_path)
