"""`vton schedule` against a real local Prefect server on 127.0.0.1, and a scheduled run executed by a worker."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import mlflow
import pytest

from tests.conftest import run

pytestmark = pytest.mark.slow
REPO = Path(__file__).resolve().parents[2]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def prefect_server(tmp_path: Path):
    """`prefect server start` on a free loopback port with its own home and database; yields the API URL."""
    port = free_port()
    home = tmp_path / "prefect-server"
    home.mkdir()
    env = {**os.environ, "PREFECT_HOME": str(home), "PREFECT_SERVER_ANALYTICS_ENABLED": "false",
           "PREFECT_API_DATABASE_CONNECTION_URL": f"sqlite+aiosqlite:///{home / 'prefect.db'}"}
    env.pop("PREFECT_API_URL", None)
    log = open(home / "server.log", "w")
    proc = subprocess.Popen([sys.executable, "-m", "prefect", "server", "start", "--host", "127.0.0.1",
                             "--port", str(port)], env=env, stdout=log, stderr=subprocess.STDOUT)
    api = f"http://127.0.0.1:{port}/api"
    deadline = time.monotonic() + 180
    try:
        while True:
            try:
                if httpx.get(f"{api}/health", timeout=2).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            assert proc.poll() is None, (home / "server.log").read_text()[-2000:]
            assert time.monotonic() < deadline, "prefect server did not become healthy"
            time.sleep(0.5)
        yield api
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            proc.kill()
        log.close()


def test_schedule_deploys_weekly_retrain_and_a_worker_runs_it_as_a_no_op(workspace, prefect_server, tmp_path):
    env = {"PREFECT_API_URL": prefect_server, "PREFECT_HOME": str(tmp_path / "prefect-client")}
    # The pipeline is up to date before the scheduled run: DVC has nothing to do.
    run([sys.executable, "-m", "dvc", "repro", "import"], workspace)

    out = run(["vton", "schedule", "--stage", "import", "--run-now"], workspace, env=env).stdout
    assert "scheduled '0 3 * * 1' (UTC), concurrency 1, on work pool vton-process" in out
    deployment_id = out.split("(", 1)[1].split(")", 1)[0]

    deployment = httpx.get(f"{prefect_server}/deployments/{deployment_id}").json()
    assert [s["schedule"]["cron"] for s in deployment["schedules"]] == ["0 3 * * 1"]
    assert deployment["parameters"] == {"profile": "smoke", "root": str(workspace), "refresh_data": True,
                                        "stages": ["import"]}
    assert deployment["global_concurrency_limit"]["limit"] == 1
    pool = httpx.get(f"{prefect_server}/work_pools/vton-process").json()
    assert pool["type"] == "process"

    worker = run(["prefect", "worker", "start", "--pool", "vton-process", "--type", "process", "--run-once"],
                 workspace, env=env)
    runs = httpx.post(f"{prefect_server}/flow_runs/filter",
                      json={"deployments": {"id": {"any_": [deployment_id]}}}).json()
    finished = [r for r in runs if r["state_type"] == "COMPLETED"]
    assert finished, f"no completed run: {[r['state_type'] for r in runs]}\n{worker.stdout[-3000:]}"

    mlflow.set_tracking_uri(f"sqlite:///{workspace / 'mlflow.db'}")
    retrains = mlflow.search_runs(search_all_experiments=True, filter_string="tags.`vton.stage` = 'retrain'",
                                  output_format="list")
    assert len(retrains) == 1
    tags = retrains[0].data.tags
    assert (tags["vton.noop"], tags["vton.stages"]) == ("true", "import=skipped")
    assert tags["prefect.flow_run_id"] == finished[0]["id"]
    assert not mlflow.MlflowClient().search_registered_models()  # nothing registered
