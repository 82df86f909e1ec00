"""Truthful run states: a retrain killed with its run RUNNING is marked KILLED by the next one, never FINISHED."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path

import mlflow

from components.tracking.contract import Tag
from components.tracking.service import TrackingService

REPO = Path(__file__).resolve().parents[2]

START_AND_DIE = textwrap.dedent("""
    import os, sys
    from components.tracking.service import TrackingService
    service = TrackingService(sys.argv[1])
    exp = service.experiment("vton-pipeline")
    print(service.start_retrain(exp, "smoke", {"profile": "smoke"}, "flow-run-1"))
    os._exit(9)  # killed: nothing closes the run
""")


def _project(tmp_path: Path) -> Path:
    root = tmp_path / "proj"
    root.mkdir()
    (root / "params.yaml").write_text((REPO / "params.yaml").read_text())
    return root


def test_a_retrain_whose_process_died_is_marked_killed_by_the_next_and_a_live_one_is_left_alone(tmp_path, mlflow_uri):
    root = _project(tmp_path)
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    proc = subprocess.run([sys.executable, "-c", START_AND_DIE, str(root)], capture_output=True, text=True, env=env)
    assert proc.returncode == 9, proc.stderr
    dead_run = proc.stdout.strip().splitlines()[-1]

    service = TrackingService(root)
    exp = service.experiment("vton-pipeline")
    assert service.client.get_run(dead_run).info.status == "RUNNING"  # what a killed retrain leaves behind
    sleeper = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    try:
        live_run = service.client.create_run(exp, tags={Tag.STAGE: "retrain", Tag.RETRAIN_PID: str(sleeper.pid),
                                                        Tag.RETRAIN_HOST: os.uname().nodename}).info.run_id
        orphans = service.end_orphans(exp)
    finally:
        sleeper.kill()
        sleeper.wait()
    assert [(o.run_id, o.prefect_flow_run_id) for o in orphans] == [(dead_run, "flow-run-1")]
    dead = service.client.get_run(dead_run)
    assert dead.info.status == "KILLED" and "ended without closing the run" in dead.data.tags[Tag.END_REASON]
    assert service.client.get_run(live_run).info.status == "RUNNING"


def test_the_retrain_run_carries_lineage_params_and_lock_and_ends_with_the_status_it_is_given(tmp_path, mlflow_uri):
    root = _project(tmp_path)
    (root / "dvc.lock").write_text("schema: '2.0'\nstages: {}\n")
    service = TrackingService(root)
    exp = service.experiment("vton-pipeline")
    run_id = service.start_retrain(exp, "smoke", {"profile": "smoke"}, None)
    started = service.client.get_run(run_id)
    assert started.info.status == "RUNNING" and started.data.tags[Tag.PROFILE] == "smoke"
    assert Tag.PARAMS_HASH in started.data.tags and started.data.tags[Tag.RETRAIN_PID] == str(os.getpid())
    assert {a.path for a in service.client.list_artifacts(run_id)} >= {"params.yaml", "dvc.lock"}
    service.end_retrain(run_id, "FAILED", {Tag.STAGES: "import=failed"})
    ended = mlflow.MlflowClient().get_run(run_id)
    assert ended.info.status == "FAILED" and ended.data.tags[Tag.STAGES] == "import=failed"
