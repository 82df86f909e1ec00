"""The first DVC process `vton retrain` starts before Prefect and MLflow: what it starts, the run-id handoff to its
stages, and stopping it when the retrain ends first (real DVC in a temp git + DVC project)."""

from __future__ import annotations

import os
import sys
import time
from pathlib import Path

import pytest
import yaml

from components.stage.dvc import StageStatus
from components.tracking.mlflow_run import hand_over_run_id
from flows import head_start
from tests.conftest import run

REPO = Path(__file__).resolve().parents[2]
# `early` writes a file as soon as it starts; `logs` then waits for the retrain's run id and writes it down.
EARLY = "open('early.txt', 'w').write('started')"
LOGS = ("from components.tracking.mlflow_run import retrain_run_id; r = retrain_run_id() or 'standalone'; "
        "open('logged.txt', 'w').write(r)")


@pytest.fixture
def project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A git + DVC project with data/raw and stages early -> logs -> train -> evaluate (flow.stages)."""
    root = tmp_path / "proj"
    (root / "data" / "raw").mkdir(parents=True)
    (root / "data" / "raw" / "photo.txt").write_text("a photo")
    stages = {
        "early": {"cmd": f'{sys.executable} -c "{EARLY}"', "outs": ["early.txt"]},
        "logs": {"cmd": f'{sys.executable} -c "{LOGS}"', "deps": ["early.txt"], "outs": ["logged.txt"]},
        "train": {"cmd": f'{sys.executable} -c "open(\'model.txt\', \'w\').write(\'m\')"', "outs": ["model.txt"]},
        "evaluate": {"cmd": f'{sys.executable} -c "print(1)"', "deps": ["model.txt"]},
    }
    (root / "dvc.yaml").write_text(yaml.safe_dump({"stages": stages}, sort_keys=False))
    params = {"profile": "smoke", "paths": {"reports": "reports", "models": "models"},
              "flow": {"stages": ["early", "logs"]}}
    (root / "params.yaml").write_text(yaml.safe_dump(params, sort_keys=False))
    run(["git", "init", "-q", "-b", "main"], root)
    run([sys.executable, "-m", "dvc", "init", "-q"], root)
    run(["git", "add", "-A"], root)
    run(["git", "commit", "-qm", "init"], root)
    monkeypatch.setenv("VTON_PROJECT_ROOT", str(root))
    monkeypatch.setenv("PYTHONPATH", str(REPO))
    monkeypatch.setenv("VTON_STAGE_ECHO", "0")
    monkeypatch.setenv("MLFLOW_TRACKING_URI", f"sqlite:///{root / 'mlflow.db'}")
    monkeypatch.delenv("VTON_DVC_REMOTE_URL", raising=False)
    import mlflow

    mlflow.MlflowClient(tracking_uri=f"sqlite:///{root / 'mlflow.db'}").search_experiments()  # the store exists
    return root


def test_the_stages_after_train_get_their_own_process_unless_the_retrain_is_forced():
    chain = ["scrape", "train", "evaluate"]
    assert head_start.segments(chain, force=True) == [chain]
    assert head_start.segments(chain, force=False) == [["scrape", "train"], ["evaluate"]]
    assert head_start.segments(["scrape", "train"], force=False) == [["scrape", "train"]]
    assert head_start.segments(["scrape", "import"], force=False) == [["scrape", "import"]]
    assert head_start.segments([], force=False) == []


def test_the_stages_start_at_once_and_the_one_that_logs_waits_for_the_run_id_handed_over(project):
    started = head_start.start(None, None, force=False)
    assert started is not None and head_start.take() is started and head_start.take() is None
    assert started.matches(project, ["early", "logs"], False, ["early", "logs"])
    assert not started.matches(project, ["early", "logs"], True, ["early", "logs"])  # the flow would --force
    assert started.chain.result("early").status is StageStatus.RAN
    time.sleep(1.0)  # `logs` is waiting: no run yet
    assert not (project / "logged.txt").exists() and started.chain.can_take("logs")
    hand_over_run_id(started.run_id_path, "0123abcd")
    assert started.chain.result("logs").status is StageStatus.RAN
    assert (project / "logged.txt").read_text() == "0123abcd"
    log = project / "reports" / "logs" / "logs.log"
    assert "Running stage 'logs':" in log.read_text() and "early" not in log.read_text()


def test_a_retrain_that_ends_before_opening_its_run_stops_its_waiting_stage(project):
    started = head_start.start(None, None, force=False)
    assert started.chain.result("early").status is StageStatus.RAN
    time.sleep(0.5)
    head_start.abandon("no server")  # nobody took it: stopped, the handoff file gone
    assert head_start.take() is None
    assert started.chain.process.poll() is not None and not started.run_id_path.exists()
    assert not (project / "logged.txt").exists()


def test_nothing_starts_without_data_for_an_unknown_stage_or_a_broken_project(project, tmp_path, monkeypatch):
    assert head_start.start(None, ["early", "no-such-stage"], force=False) is None
    monkeypatch.setenv("VTON_DVC_REMOTE_URL", str(tmp_path / "team-remote"))
    assert head_start.start(None, None, force=False) is None  # the flow sends the stages to the team's workers
    monkeypatch.delenv("VTON_DVC_REMOTE_URL")
    monkeypatch.setenv("MLFLOW_TRACKING_URI", f"sqlite:///{tmp_path / 'new.db'}")
    assert head_start.start(None, None, force=False) is None  # a new store: the flow creates its tables first
    monkeypatch.setenv("MLFLOW_TRACKING_URI", f"sqlite:///{project / 'mlflow.db'}")
    for f in (project / "data" / "raw").iterdir():
        f.unlink()
    assert head_start.start(None, None, force=False) is None  # the flow prepares data/raw first
    monkeypatch.setenv("VTON_PROJECT_ROOT", str(tmp_path / "nowhere"))
    assert head_start.start("smoke", None, force=False) is None
    assert head_start.take() is None


def test_a_stage_waiting_for_a_run_that_is_abandoned_says_why(tmp_path, monkeypatch):
    from components.errors import VtonError
    from components.tracking.mlflow_run import RUN_ID_FILE_ENV, abandon_run_id, retrain_run_id

    handoff = tmp_path / "run-id"
    monkeypatch.setenv("VTON_MLFLOW_RUN_ID", "")  # empty: no run given; and put back after the test (it gets set)
    monkeypatch.setenv(RUN_ID_FILE_ENV, str(handoff))
    abandon_run_id(handoff, "the Prefect server did not start")
    with pytest.raises(VtonError, match="opened no MLflow run .the Prefect server did not start"):
        retrain_run_id()
    monkeypatch.setenv("VTON_MLFLOW_RUN_ID_WAIT_S", "0.3")
    handoff.unlink()
    with pytest.raises(VtonError, match="waited 0s for the retrain's MLflow run id"):
        retrain_run_id()
    hand_over_run_id(handoff, "feed")
    assert retrain_run_id() == "feed" and os.environ["VTON_MLFLOW_RUN_ID"] == "feed"
