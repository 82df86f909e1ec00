"""The team stack for real: PostgreSQL, moto S3, an MLflow server and a Prefect server on 127.0.0.1.

The retrain flow runs against them exactly as a team member's `vton` would (env only), and the tests look
where each thing must land: the run in MLflow's PostgreSQL, its artifacts in S3, the flow run in Prefect,
the DVC objects in the S3 remote, and the same dvc.lock lineage in the workspace and the MLflow run.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest
import yaml

from tests.conftest import REPO, run
from tests.infra import servers

pytestmark = pytest.mark.slow

BUCKETS = {"dvc": "vton-dvc", "mlflow": "vton-mlflow", "models": "vton-models"}


def _s3(endpoint: str):
    import boto3

    return boto3.client(
        "s3", endpoint_url=endpoint, aws_access_key_id=servers.ACCESS_KEY,
        aws_secret_access_key=servers.SECRET_KEY, region_name="us-east-1",
    )


@pytest.fixture(scope="module")
def stack():
    """PostgreSQL + moto + MLflow + Prefect, started once for this module and stopped at its end."""
    if servers.postgres_bindir() is None:
        pytest.skip("PostgreSQL binaries (initdb, pg_ctl) not installed: run scripts/setup-services.sh as root")
    for binary in ("moto_server", "mlflow", "prefect"):
        if not (servers.BIN / binary).exists():
            pytest.skip(f"{binary} not installed in {servers.BIN}: run `make setup`")
    logs = Path(tempfile.mkdtemp(prefix="vton-stack-"))
    procs = []
    pg = servers.start_postgres()
    try:
        pg.create_database("mlflow")
        pg.create_database("prefect")
        moto, s3_url = servers.start_moto(logs)
        procs.append(moto)
        client = _s3(s3_url)
        for bucket in BUCKETS.values():  # what the compose stack's minio-init does
            client.create_bucket(Bucket=bucket)
        # Both servers migrate their schemas at start-up: start them together, then wait for both.
        mlflow_proc, mlflow_url = servers.start_mlflow(pg, s3_url, BUCKETS["mlflow"], logs, wait=False)
        procs.append(mlflow_proc)
        prefect_proc, prefect_url = servers.start_prefect(pg, logs / "prefect-home", logs, wait=False)
        procs.append(prefect_proc)
        servers.wait_http(mlflow_url + "/health", mlflow_proc, 240, logs / "mlflow.log")
        servers.wait_http(prefect_url + "/health", prefect_proc, 240, logs / "prefect.log")
        env = {
            **servers.s3_env(s3_url),
            "MLFLOW_TRACKING_URI": mlflow_url,
            "PREFECT_API_URL": prefect_url,
            "VTON_DVC_REMOTE_URL": f"s3://{BUCKETS['dvc']}/store",
            "VTON_MODEL_STORE_URL": f"s3://{BUCKETS['models']}/store",
            "VTON_MLFLOW_ARTIFACTS_URL": f"s3://{BUCKETS['mlflow']}/artifacts",
            "VTON_DATABASE_URL": pg.url("mlflow"),
            "PREFECT_HOME": str(logs / "client-prefect-home"),
        }
        yield {"env": env, "pg": pg, "s3": client, "s3_url": s3_url, "mlflow": mlflow_url, "prefect": prefect_url}
    finally:
        for proc in reversed(procs):
            servers.stop(proc)
        pg.stop()
        shutil.rmtree(logs, ignore_errors=True)


def vton(args: list[str], cwd: Path, env: dict[str, str], check: bool = True) -> subprocess.CompletedProcess:
    """Run the real `vton` CLI with the team environment."""
    proc = subprocess.run(
        [sys.executable, "-m", "components.cli", *args], cwd=cwd, env={**os.environ, **env},
        capture_output=True, text=True, timeout=300,
    )
    if check and proc.returncode != 0:
        raise AssertionError(f"vton {args} exited {proc.returncode}:\n{proc.stdout}\n{proc.stderr}")
    return proc


def pull_step_env(stack, workspace: Path, **extra: str) -> dict[str, str]:
    """The team environment plus what infra/prefect.yaml's pull steps read: the repository to clone."""
    return {**stack["env"], "VTON_GIT_REPOSITORY": str(workspace), "VTON_GIT_BRANCH": "main", **extra}


def prefect_cli(args: list[str], cwd: Path, env: dict[str, str]) -> None:
    """Run the real `prefect` CLI against the stack; fail with its output."""
    proc = subprocess.run([str(servers.BIN / "prefect"), *args], cwd=cwd, env={**os.environ, **env},
                          capture_output=True, text=True, timeout=240)
    assert proc.returncode == 0, f"prefect {args}:\n{proc.stdout}\n{proc.stderr}"


def assert_import_lineage_on_the_remote(stack, workspace: Path) -> dict:
    """The workspace's dvc.lock, after checking the S3 remote holds the objects of import's data/raw and output."""
    lock = yaml.safe_load((workspace / "dvc.lock").read_text())
    imported = next(o for o in lock["stages"]["import"]["outs"] if o["path"] == "data/imported")
    raw = next(d for d in lock["stages"]["import"]["deps"] if d["path"] == "data/raw")
    dvc_keys = set(_keys(stack["s3"], BUCKETS["dvc"], "store/"))
    for md5 in (imported["md5"], raw["md5"]):
        assert f"store/files/md5/{md5[:2]}/{md5[2:]}" in dvc_keys
    assert len(dvc_keys) > 10  # the .dir listings plus every image and the manifest
    return lock


def _keys(client, bucket: str, prefix: str = "") -> list[str]:
    pages = client.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=prefix)
    return [obj["Key"] for page in pages for obj in page.get("Contents", [])]


def test_retrain_lands_runs_artifacts_flow_runs_and_dvc_objects_on_the_team_servers(stack, workspace: Path):
    env = stack["env"]
    vton(["remote", "configure"], workspace, env)
    # The smoke stages up to import (scrape feeds import where it exists); later stages have their own tests.
    stages = [s for s in ("scrape", "import") if s in yaml.safe_load((workspace / "dvc.yaml").read_text())["stages"]]
    out = vton(["retrain", "--profile", "smoke", *[a for s in stages for a in ("--stage", s)]], workspace, env).stdout
    assert "import=ran" in out, out

    import httpx
    import mlflow
    import psycopg2

    client = mlflow.MlflowClient(tracking_uri=stack["mlflow"])
    exp = client.get_experiment_by_name("vton-pipeline")
    (run,) = client.search_runs([exp.experiment_id], "tags.`vton.stage` = 'retrain'")
    assert run.info.status == "FINISHED"
    assert run.data.tags["vton.stages"] == ", ".join(f"{s}=ran" for s in stages)
    assert run.data.tags["vton.stage_status.import"] == "ran"

    # The run is stored in MLflow's PostgreSQL database, not in a local file.
    with psycopg2.connect(stack["pg"].url("mlflow")) as conn, conn.cursor() as cur:
        cur.execute("SELECT status FROM runs WHERE run_uuid = %s", (run.info.run_id,))
        assert cur.fetchone() == ("FINISHED",)

    # Artifacts go through the server (--serve-artifacts) into the S3 bucket.
    logged = {a.path for a in client.list_artifacts(run.info.run_id)}
    assert {"params.yaml", "dvc.lock", "dvc"} <= logged
    artifact_keys = _keys(stack["s3"], BUCKETS["mlflow"], "artifacts/")
    assert any(k.endswith(f"{run.info.run_id}/artifacts/dvc/dvc.lock") for k in artifact_keys), artifact_keys

    # The flow run is recorded, completed, on the Prefect server.
    flow_run_id = run.data.tags["prefect.flow_run_id"]
    flow_run = httpx.get(f"{stack['prefect']}/flow_runs/{flow_run_id}", timeout=10).json()
    assert flow_run["state"]["type"] == "COMPLETED"

    # DVC pushed the imported dataset (and the raw data it came from) to the S3 remote.
    lock = assert_import_lineage_on_the_remote(stack, workspace)

    # Lineage: the lock the MLflow run carries is the workspace's lock.
    with tempfile.TemporaryDirectory() as tmp:
        carried = Path(client.download_artifacts(run.info.run_id, "dvc/dvc.lock", tmp))
        assert yaml.safe_load(carried.read_text())["stages"]["import"] == lock["stages"]["import"]

    # A registry entry exists only once a candidate has been promoted; this retrain stops at import.
    registered = [m.name for m in client.search_registered_models()]
    assert registered == [] or "vton-tryon" in registered


def test_prefect_yaml_routes_gpu_stages_to_the_gpu_pool(stack, workspace: Path):
    env = pull_step_env(stack, workspace, VTON_IMAGE_CPU="registry.example/vton-pipeline:cpu",
                        VTON_IMAGE_GPU="registry.example/vton-pipeline:gpu")
    for pool in ("cpu", "gpu"):
        # The Kubernetes work-pool templates go through Prefect's own validation on the real server.
        prefect_cli(["work-pool", "create", pool, "--type", "kubernetes", "--overwrite",
                     "--base-job-template", str(REPO / "infra" / "k8s" / "work-pools" / f"{pool}.json")], workspace, env)
    prefect_cli(["--no-prompt", "deploy", "--all", "--prefect-file", str(REPO / "infra" / "prefect.yaml")], workspace, env)

    import httpx

    deployments = httpx.post(f"{stack['prefect']}/deployments/filter", json={}, timeout=10).json()
    by_name = {d["name"]: d for d in deployments}
    assert by_name["gpu"]["work_pool_name"] == "gpu"
    assert by_name["gpu"]["job_variables"] == {"image": "registry.example/vton-pipeline:gpu", "gpu_count": 1}
    assert by_name["cpu"]["work_pool_name"] == "cpu"
    assert by_name["retrain-smoke"]["parameters"]["stage_deployments"] == {
        "train": "vton-stage/gpu", "*": "vton-stage/cpu"
    }
    for profile in ("test", "full"):
        routes = by_name[f"retrain-{profile}"]["parameters"]["stage_deployments"]
        assert routes["annotate"] == routes["train"] == "vton-stage/gpu"
        assert routes["*"] == "vton-stage/cpu"
    pools = {p["name"]: p for p in httpx.post(f"{stack['prefect']}/work_pools/filter", json={}, timeout=10).json()}
    gpu_vars = pools["gpu"]["base_job_template"]["variables"]["properties"]
    assert gpu_vars["gpu_count"]["default"] == 1
    assert pools["cpu"]["type"] == pools["gpu"]["type"] == "kubernetes"
    assert json.dumps(pools["cpu"]["base_job_template"]).count("nvidia.com/gpu") == 0


def test_doctor_reports_every_running_service_ok(stack, workspace: Path):
    env = stack["env"]
    vton(["remote", "configure"], workspace, env)
    proc = vton(["doctor"], workspace, env)
    lines = proc.stdout.splitlines()
    for name in ("database", "mlflow", "prefect", "dvc"):
        assert any(ln.startswith("ok") and f" {name} " in f" {ln} " for ln in lines), proc.stdout
    assert sum(ln.startswith("ok    s3") for ln in lines) == 3, proc.stdout


def test_doctor_fails_with_a_fix_when_the_database_password_is_wrong(stack, workspace: Path):
    env = {**stack["env"], "VTON_DATABASE_URL": stack["pg"].url("mlflow").replace("vton-test-pw", "wrong")}
    proc = vton(["doctor"], workspace, env, check=False)
    assert proc.returncode == 1
    assert "FAIL  database" in proc.stdout and "password" in proc.stdout.lower()
    assert "fix: check POSTGRES_USER/POSTGRES_PASSWORD" in proc.stdout


def test_a_process_worker_runs_the_routed_stages_and_the_retrain_takes_their_lineage_back(
    stack, workspace: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
):
    """A real `prefect worker` (process pool) clones the repository with infra/prefect.yaml's pull steps and
    runs `vton-stage` for the stages the retrain routes to it; data travels only through the S3 DVC remote."""
    # The worker finds its checkout from its working directory, never from the test's environment.
    monkeypatch.delenv("VTON_PROJECT_ROOT", raising=False)
    pool, deployment = "cpu-process", "process"
    runs = tmp_path / "worker-runs"  # the process worker's working_dir: each flow run clones into it
    runs.mkdir()
    env = pull_step_env(stack, workspace, PREFECT_WORKER_QUERY_SECONDS="1", PREFECT_LOGGING_LEVEL="INFO")

    # Whatever an earlier test pushed goes: the DVC objects found at the end were pushed during this test.
    for key in _keys(stack["s3"], BUCKETS["dvc"], "store/"):
        stack["s3"].delete_object(Bucket=BUCKETS["dvc"], Key=key)

    prefect_cli(["work-pool", "create", pool, "--type", "process", "--overwrite"], workspace, env)
    # The deployment uses the team's pull steps (git clone, cd, `vton remote configure`) from infra/prefect.yaml.
    infra = yaml.safe_load((REPO / "infra" / "prefect.yaml").read_text())
    stage_entry = next(d for d in infra["deployments"] if d["name"] == "cpu")["entrypoint"]
    spec = tmp_path / "prefect-process.yaml"
    spec.write_text(yaml.safe_dump({
        "name": infra["name"], "prefect-version": infra["prefect-version"], "build": None, "push": None,
        "pull": infra["pull"],
        "deployments": [{
            "name": deployment, "entrypoint": stage_entry,
            "work_pool": {"name": pool, "work_queue_name": "default", "job_variables": {"working_dir": str(runs)}},
        }],
    }, sort_keys=False))
    prefect_cli(["--no-prompt", "deploy", "--all", "--prefect-file", str(spec)], workspace, env)

    vton(["remote", "configure"], workspace, env)
    stages = [s for s in ("scrape", "import") if s in yaml.safe_load((workspace / "dvc.yaml").read_text())["stages"]]
    routes = {s: f"vton-stage/{deployment}" for s in stages}
    # Neither checkout starts with a lock for the routed stages: the workspace can only get one from the worker.
    committed = yaml.safe_load((workspace / "dvc.lock").read_text())
    for stage in stages:
        committed["stages"].pop(stage, None)
    (workspace / "dvc.lock").write_text(yaml.safe_dump(committed, sort_keys=False))
    run(["git", "commit", "-qam", "no lock for the routed stages"], workspace)
    worker_log = tmp_path / "worker.log"
    worker = servers.spawn([str(servers.BIN / "prefect"), "worker", "start", "--pool", pool, "--type", "process",
                            "--name", "test-process-worker"], worker_log, env=env, cwd=tmp_path)
    try:
        retrain = subprocess.run(
            [sys.executable, "-c",
             "import json, sys; from flows.retrain import retrain_flow; "
             "s = retrain_flow(profile='smoke', stages=json.loads(sys.argv[1]), "
             "stage_deployments=json.loads(sys.argv[2])); print(s.where_to_look())",
             json.dumps(stages), json.dumps(routes)],
            cwd=workspace, env={**os.environ, **env}, capture_output=True, text=True, timeout=600,
        )
        assert retrain.returncode == 0, (
            f"retrain exited {retrain.returncode}:\n{retrain.stdout}\n{retrain.stderr}\n"
            f"--- worker log ---\n{worker_log.read_text()[-6000:]}"
        )
        assert "import=ran" in retrain.stdout, retrain.stdout
    finally:
        servers.stop(worker)

    import httpx
    import mlflow

    api = stack["prefect"]
    client = mlflow.MlflowClient(tracking_uri=stack["mlflow"])
    exp = client.get_experiment_by_name("vton-pipeline")
    (retrain_run,) = client.search_runs(  # this module's latest retrain: this test's
        [exp.experiment_id], "tags.`vton.stage` = 'retrain'", order_by=["attributes.start_time DESC"], max_results=1
    )
    assert retrain_run.info.status == "FINISHED"
    assert retrain_run.data.tags["vton.stages"] == ", ".join(f"{s}=ran" for s in stages)
    assert retrain_run.data.tags["vton.stage_status.import"] == "ran"  # tagged by the worker's run_remote_stage

    # Prefect: one flow run of the deployment per routed stage, completed by the process worker, each a subflow
    # of the retrain's flow run.
    dep = httpx.get(f"{api}/deployments/name/vton-stage/{deployment}", timeout=10).json()
    assert dep["work_pool_name"] == pool
    flow_runs = httpx.post(f"{api}/flow_runs/filter", json={"flow_runs": {"deployment_id": {"any_": [dep["id"]]}}},
                           timeout=10).json()
    assert sorted(fr["parameters"]["stage"] for fr in flow_runs) == sorted(stages)
    for fr in flow_runs:
        assert fr["state"]["type"] == "COMPLETED", fr["state"]
        assert fr["work_pool_name"] == pool
        assert fr["infrastructure_pid"]  # the worker started it as a process
        assert fr["parameters"]["mlflow_run_id"] == retrain_run.info.run_id
        assert fr["parameters"]["profile"] == "smoke"  # the retrain's profile, not whatever the clone commits
        parent = httpx.get(f"{api}/task_runs/{fr['parent_task_run_id']}", timeout=10).json()
        assert parent["flow_run_id"] == retrain_run.data.tags["prefect.flow_run_id"]
    workers = httpx.post(f"{api}/work_pools/{pool}/workers/filter", json={}, timeout=10).json()
    assert "test-process-worker" in {w["name"] for w in workers}

    # The worker's own checkout (cloned by the pull step) pulled the raw data and produced data/imported;
    # the workspace never did: the data went through the S3 remote only.
    (checkout,) = [p for p in runs.iterdir() if (p / ".git").is_dir()]
    assert (checkout / "data" / "raw").is_dir() and (checkout / "data" / "imported" / "manifest.parquet").is_file()
    assert not (workspace / "data" / "imported").exists()
    worker_lock = yaml.safe_load((checkout / "dvc.lock").read_text())["stages"]["import"]

    lock = assert_import_lineage_on_the_remote(stack, workspace)

    # Lineage came back: the workspace's lock and the MLflow run's lock are the worker's.
    assert set(stages) <= set(lock["stages"])
    assert lock["stages"]["import"] == worker_lock
    with tempfile.TemporaryDirectory() as tmp:
        carried = Path(client.download_artifacts(retrain_run.info.run_id, "dvc/dvc.lock", tmp))
        assert yaml.safe_load(carried.read_text())["stages"]["import"] == worker_lock
