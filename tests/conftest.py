"""Shared test set-up: every test runs offline, quiet, and against stores in its own temp folders."""

from __future__ import annotations

import atexit
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest

from tests.project_copy import copy_project, sample_data

REPO = Path(__file__).resolve().parents[1]

# Set before anything imports prefect, mlflow, datasets or torch.
_SESSION_HOME = Path(tempfile.mkdtemp(prefix="vton-tests-"))
SESSION_TRACKING_URI = f"sqlite:///{_SESSION_HOME / 'mlflow.db'}"  # the store of a test that names none
os.environ.update(
    {
        "CI": os.environ.get("CI", "true"),
        "VTON_QUIET": "1",
        "PREFECT_HOME": str(_SESSION_HOME / "prefect"),
        "PREFECT_SERVER_ANALYTICS_ENABLED": "false",
        # A loaded 2-core CI machine can take longer than Prefect's default 20 s to start its temporary server.
        "PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS": "180",
        "PREFECT_LOGGING_LEVEL": "WARNING",
        "DVC_NO_ANALYTICS": "1",
        "HF_HUB_OFFLINE": "1",
        "HF_DATASETS_OFFLINE": "1",
        "TRANSFORMERS_OFFLINE": "1",
        "MLFLOW_TRACKING_URI": SESSION_TRACKING_URI,
        "GIT_AUTHOR_NAME": "vton tests",
        "GIT_AUTHOR_EMAIL": "tests@vton.invalid",
        "GIT_COMMITTER_NAME": "vton tests",
        "GIT_COMMITTER_EMAIL": "tests@vton.invalid",
        "OMP_NUM_THREADS": os.environ.get("OMP_NUM_THREADS", "2"),
    }
)
# MLflow's SQLite store puts the default experiment's artifacts in ./mlruns (here: the repo) unless this
# (private, server-side) variable names a root; tests must not write into the checkout.
os.environ["_MLFLOW_SERVER_ARTIFACT_ROOT"] = (_SESSION_HOME / "mlruns").as_uri()
os.environ.pop("VTON_MLFLOW_RUN_ID", None)
os.environ.pop("VTON_PROJECT_ROOT", None)
DEFAULT_EXPERIMENT_ID = "0"  # MLflow's Default experiment, created with every store

# The most one test process holds under the temp folder at once (full-size random model files, DVC caches, MLflow
# stores), with room to spare; passed tests' folders are removed as they finish (pyproject: retention "failed").
# Every pytest-xdist worker holds as much.
MIN_FREE_GIB = float(os.environ.get("VTON_TESTS_MIN_FREE_GIB", "4"))


def _exit_without_teardown() -> None:
    """After pytest's summary and every exit hook registered after this one (Ray's shutdown, the temporary Prefect
    servers' stop): exit with pytest's own status, skipping the interpreter's teardown.

    The teardown frees every module the suite loaded, native ones included (Ray's and gRPC's threads, MediaPipe's
    graphs, torch). A CI run ended in SIGSEGV after all 890 tests passed and the summary was printed, which failed
    CI; `make test` now runs with faulthandler, so a crash before this point prints where it happened."""
    if _FINISHED:
        from components.processes import exit_without_teardown

        exit_without_teardown(int(_FINISHED[0].exitstatus))


_FINISHED: list[pytest.Session] = []  # the session, once pytest_sessionfinish ran (its status is then final)
_ARGV0 = Path(sys.argv[0])
# `pytest` or `python -m pytest`; never a program that calls pytest.main() and goes on.
if _ARGV0.name in ("pytest", "py.test") or _ARGV0.parts[-2:] == ("pytest", "__main__.py"):
    atexit.register(_exit_without_teardown)  # registered early, so it runs after the exit hooks registered later


def pytest_sessionstart(session: pytest.Session) -> None:
    """Stop before the first test when the temp folder's disk cannot hold the suite: one line, not 800 errors."""
    if os.environ.get("PYTEST_XDIST_WORKER"):
        return  # the controller checked, for every worker, before starting them (a worker's exit would restart it)
    # xdist has turned `-n auto` into a count by now; without `-n` (or with `-n 0`) this process runs the tests.
    need = MIN_FREE_GIB * (session.config.getoption("numprocesses", None) or 1)
    temp = Path(tempfile.gettempdir())
    free = shutil.disk_usage(temp).free / 2**30
    if free < need:
        pytest.exit(f"tests: {free:.1f} GiB free on the disk of {temp}, and the suite needs about {need:g} "
                    "GiB there at once. Free space on that disk, or point TMPDIR at a disk with room "
                    "(VTON_TESTS_MIN_FREE_GIB sets this check's limit per test process).",
                    returncode=pytest.ExitCode.USAGE_ERROR)


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    """Remove the session's Prefect home and MLflow store when every test passed (kept to debug a failure)."""
    if exitstatus == 0:
        shutil.rmtree(_SESSION_HOME, ignore_errors=True)
    _FINISHED.append(session)


@pytest.fixture(autouse=True)
def _forget_mlflow_fluent_state():
    """End runs a test left open and forget the active experiment a test set (stale under another store)."""
    yield
    if "mlflow" in sys.modules:
        import mlflow

        while mlflow.active_run() is not None:
            mlflow.end_run()
        # mlflow.set_tracking_uri (the code under test calls it) outlives the test, exports MLFLOW_TRACKING_URI
        # past monkeypatch, and wins over the next test's own MLFLOW_TRACKING_URI: that test would write into a
        # store whose folder is gone. Forget it (None unsets both), the session's store staying the default.
        mlflow.set_tracking_uri(None)
        os.environ["MLFLOW_TRACKING_URI"] = SESSION_TRACKING_URI
        # mlflow.set_experiment (configure_mlflow calls it) caches its experiment in this process and exports
        # MLFLOW_EXPERIMENT_ID; under the next test's store that id may name nothing. MLflow has no public
        # "unset", so make the Default experiment active again: id 0 exists in every store, and it is where a run
        # started without an experiment goes anyway.
        if os.environ.get("MLFLOW_EXPERIMENT_ID") not in (None, DEFAULT_EXPERIMENT_ID):
            mlflow.set_experiment(experiment_id=DEFAULT_EXPERIMENT_ID)
    os.environ.pop("MLFLOW_EXPERIMENT_ID", None)


@pytest.fixture
def mlflow_uri(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> str:
    """A fresh SQLite MLflow store for one test."""
    uri = f"sqlite:///{tmp_path / 'mlflow.db'}"
    monkeypatch.setenv("MLFLOW_TRACKING_URI", uri)
    monkeypatch.setenv("MLFLOW_ARTIFACT_ROOT", (tmp_path / "mlartifacts").as_uri())
    return uri


def run(cmd: list[str], cwd: Path, check: bool = True, env: dict | None = None) -> subprocess.CompletedProcess:
    """Run a command, failing the test with its output when it fails."""
    proc = subprocess.run(cmd, cwd=cwd, capture_output=True, text=True, env={**os.environ, **(env or {})})
    if check and proc.returncode != 0:
        raise AssertionError(f"{cmd} failed ({proc.returncode}):\n{proc.stdout}\n{proc.stderr}")
    return proc


@pytest.fixture
def workspace(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A temp git + DVC project with this repo's pipeline, code and the bundled sample data in data/raw."""
    ws = copy_project(tmp_path / "ws")
    (ws / ".gitignore").write_text("/mlflow.db\n/mlartifacts/\n/.dvcstore/\n/reports/\n/models/\n__pycache__/\n")
    (ws / "data").mkdir(exist_ok=True)
    (ws / "data" / ".gitignore").write_text("/raw\n")
    sample_data(ws / "data" / "raw")
    run(["git", "init", "-q", "-b", "main"], ws)
    run(["git", "add", "-A"], ws)
    run(["git", "commit", "-qm", "workspace"], ws)
    monkeypatch.setenv("VTON_PROJECT_ROOT", str(ws))
    monkeypatch.setenv("MLFLOW_TRACKING_URI", f"sqlite:///{ws / 'mlflow.db'}")
    monkeypatch.delenv("MLFLOW_ARTIFACT_ROOT", raising=False)
    monkeypatch.setenv("PATH", str(Path(sys.executable).parent) + os.pathsep + os.environ["PATH"])
    return ws


@pytest.fixture(scope="session")
def real_photos() -> dict[str, "object"]:
    """Real photographs that ship inside installed packages, as PIL RGB images."""
    import io

    import matplotlib.cbook
    import numpy as np
    import skimage.data
    from PIL import Image

    with matplotlib.cbook.get_sample_data("grace_hopper.jpg") as fh:
        hopper = Image.open(io.BytesIO(fh.read())).convert("RGB")
    return {
        "astronaut": Image.fromarray(skimage.data.astronaut()),
        "camera": Image.fromarray(np.asarray(skimage.data.camera())).convert("RGB"),
        "grace_hopper": hopper,
        "chelsea": Image.fromarray(skimage.data.chelsea()),  # a cat: no person
    }
