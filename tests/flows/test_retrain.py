"""The retrain flow end to end in a temp git + DVC workspace, with a real Prefect flow and SQLite MLflow."""

import re

import mlflow
import pytest
import yaml

from components.errors import VtonError
from flows.retrain import retrain_flow
from tests.conftest import run

pytestmark = pytest.mark.slow


def _first_stages_only(ws):
    params = yaml.safe_load((ws / "params.yaml").read_text())
    params["flow"]["stages"] = ["scrape", "import"]
    (ws / "params.yaml").write_text(yaml.safe_dump(params, sort_keys=False))
    run(["git", "commit", "-qam", "only import"], ws)


def test_retrain_runs_stages_then_skips_them_and_tags_the_mlflow_run(workspace):
    _first_stages_only(workspace)
    first = retrain_flow(profile="smoke", root=str(workspace))
    assert [(s.stage, s.status) for s in first.stages] == [("scrape", "ran"), ("import", "ran")]
    assert (workspace / "data" / "imported" / "manifest.parquet").is_file()
    lock = yaml.safe_load((workspace / "dvc.lock").read_text())
    assert "import" in lock["stages"], "dvc.lock must record the stage's lineage"

    second = retrain_flow(profile="smoke", root=str(workspace))
    # scrape is always_changed (it re-checks its sites); its unchanged output leaves import cached.
    assert [(s.stage, s.status) for s in second.stages] == [("scrape", "ran"), ("import", "skipped")]

    mlflow.set_tracking_uri(f"sqlite:///{workspace / 'mlflow.db'}")
    run_ = mlflow.get_run(second.mlflow_run_id)
    data_md5 = yaml.safe_load((workspace / "data.dvc").read_text())["outs"][0]["md5"]
    assert run_.data.tags["vton.data_version"] == data_md5
    assert len(run_.data.tags["vton.code_version"].split("-")[0]) == 40
    assert run_.data.tags["vton.profile"] == "smoke"
    assert run_.data.tags["vton.stages"] == "scrape=ran, import=skipped"
    assert run_.info.status == "FINISHED"
    artifacts = {a.path for a in mlflow.MlflowClient().list_artifacts(second.mlflow_run_id)}
    assert {"params.yaml", "dvc.lock"} <= artifacts
    assert "mlflow ui --backend-store-uri sqlite:///" in second.where_to_look()


def test_a_failing_stage_fails_the_flow_with_the_stages_own_message(workspace):
    params = yaml.safe_load((workspace / "params.yaml").read_text())
    params["flow"]["stages"] = ["scrape", "import"]
    params["import"]["sources"][0]["path"] = "data/raw/no-such-folder"
    (workspace / "params.yaml").write_text(yaml.safe_dump(params, sort_keys=False))
    with pytest.raises(VtonError) as exc:
        retrain_flow(profile="smoke", root=str(workspace))
    message = str(exc.value)
    assert message.startswith("stage 'import' failed: error: ")
    assert "no-such-folder: source folder not found" in message
    assert "Traceback" not in message


def test_a_missing_dependency_fails_with_dvcs_own_reason(workspace):
    params = yaml.safe_load((workspace / "params.yaml").read_text())
    params["flow"]["stages"] = ["import"]  # without scrape, data/scraped does not exist
    (workspace / "params.yaml").write_text(yaml.safe_dump(params, sort_keys=False))
    with pytest.raises(VtonError) as exc:
        retrain_flow(profile="smoke", root=str(workspace))
    assert "failed to reproduce 'import'" in str(exc.value)
    assert "No such file or directory" in str(exc.value) and "data/scraped" in str(exc.value)


def _upstream_task_runs(flow_run_id: str) -> dict[str, set[str]]:
    """Task name -> names of the task runs it waited for, as the Prefect graph draws them."""
    from prefect.client.orchestration import get_client
    from prefect.client.schemas.filters import FlowRunFilter, FlowRunFilterId

    with get_client(sync_client=True) as client:
        runs = client.read_task_runs(flow_run_filter=FlowRunFilter(id=FlowRunFilterId(any_=[flow_run_id])))
    names = {str(r.id): r.name for r in runs}
    return {r.name: {names.get(str(i.id), "?") for inputs in r.task_inputs.values() for i in inputs
                     if getattr(i, "input_type", "") == "task_run"} for r in runs}


def test_each_stage_task_waits_for_its_upstream_so_the_prefect_graph_shows_the_chain(workspace):
    _first_stages_only(workspace)
    summary = retrain_flow(profile="smoke", root=str(workspace))
    graph = _upstream_task_runs(summary.prefect_flow_run_id)
    assert "scrape" in graph["import"] and any(u.startswith("prepare-data") for u in graph["scrape"])
    assert "import" in graph[next(n for n in graph if n.startswith("promote"))]
    log = workspace / "reports" / "logs" / "import.log"
    assert log.is_file() and "Running stage 'import'" in log.read_text()
    mlflow.set_tracking_uri(f"sqlite:///{workspace / 'mlflow.db'}")
    tags = mlflow.get_run(summary.mlflow_run_id).data.tags
    assert tags["vton.stage_status.import"] == "ran" and not tags["vton.code_version"].endswith("-dirty")
    assert len(tags["vton.params_hash"]) == 64


def test_a_failed_stage_ends_the_run_failed_and_is_recorded_as_failed_never_skipped(workspace):
    params = yaml.safe_load((workspace / "params.yaml").read_text())
    params["flow"]["stages"] = ["scrape", "import"]
    params["import"]["sources"][0]["path"] = "data/raw/no-such-folder"
    (workspace / "params.yaml").write_text(yaml.safe_dump(params, sort_keys=False))
    with pytest.raises(VtonError) as exc:
        retrain_flow(profile="smoke", root=str(workspace))
    assert f"log: {workspace / 'reports' / 'logs' / 'import.log'}" in str(exc.value)
    mlflow.set_tracking_uri(f"sqlite:///{workspace / 'mlflow.db'}")
    (run_,) = mlflow.MlflowClient().search_runs(["1"], "tags.`vton.stage` = 'retrain'")
    assert run_.info.status == "FAILED"
    assert run_.data.tags["vton.stages"] == "scrape=ran, import=failed"
    assert run_.data.tags["vton.stage_status.import"] == "failed"
    assert "no-such-folder" in run_.data.tags["vton.end_reason"]


def test_a_retrain_killed_earlier_is_marked_killed_and_its_prefect_run_crashed(workspace):
    import subprocess
    import sys

    from prefect.client.orchestration import get_client
    from prefect.states import Running

    from components.tracking.service import TrackingService

    _first_stages_only(workspace)
    with get_client(sync_client=True) as client:
        stale_flow_run = client.create_flow_run(retrain_flow, state=Running())
    dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True)
    service = TrackingService(workspace)
    exp = service.experiment("vton-pipeline")
    stale = service.client.create_run(exp, tags={
        "vton.stage": "retrain", "vton.retrain.pid": dead.stdout.strip(),
        "vton.retrain.host": __import__("socket").gethostname(), "prefect.flow_run_id": str(stale_flow_run.id),
    }).info.run_id

    retrain_flow(profile="smoke", stages=["scrape"], root=str(workspace))
    assert service.client.get_run(stale).info.status == "KILLED"
    with get_client(sync_client=True) as client:
        assert client.read_flow_run(stale_flow_run.id).state.type.value == "CRASHED"


def test_a_bad_param_under_vton_retrain_prints_one_error_and_no_traceback(workspace):
    import sys

    params = yaml.safe_load((workspace / "params.yaml").read_text())
    params["train"]["lora_rank"] = -1
    (workspace / "params.yaml").write_text(yaml.safe_dump(params, sort_keys=False))
    proc = run([sys.executable, "-m", "components.cli", "retrain"], workspace, check=False,
               env={"PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS": "300"})
    assert proc.returncode == 2
    out = proc.stdout + proc.stderr
    assert "Traceback" not in out
    errors = [ln for ln in proc.stderr.splitlines() if ln.startswith("error:")]
    assert errors == ["error: params.yaml: train.lora_rank must be > 0, got -1"]


def test_a_candidate_whose_version_the_registry_lost_is_trained_again_not_evaluated(tmp_path, mlflow_uri):
    import json

    from components.params import load_params
    from flows.retrain import candidate_unregistered
    from tests.conftest import REPO

    params = load_params(REPO / "params.yaml")
    mlflow.set_tracking_uri(mlflow_uri)  # an earlier test may have pointed the fluent API at its own store
    client = mlflow.MlflowClient(mlflow_uri)
    exp = client.create_experiment("vton-pipeline")
    record = tmp_path / "models" / "candidate" / "registered.json"
    record.parent.mkdir(parents=True)
    assert not candidate_unregistered(tmp_path, params)  # nothing trained yet: nothing to register again
    record.write_text(json.dumps({"name": "vton-tryon", "version": 3}))
    assert candidate_unregistered(tmp_path, params)  # `make clean-outputs`: DVC restores it, the registry is new
    run_id = client.create_run(exp).info.run_id
    client.create_registered_model("vton-tryon")
    version = client.create_model_version("vton-tryon", source=(tmp_path / "models").as_uri(), run_id=run_id)
    record.write_text(json.dumps({"name": "vton-tryon", "version": int(version.version)}))
    assert not candidate_unregistered(tmp_path, params)


HANGING_STAGE = """import os, pathlib, time
pathlib.Path("hang.pid").write_text(str(os.getpid()))
print("hang: started", flush=True)
time.sleep(600)
"""


def _only_a_hanging_stage(ws):
    """A dvc.yaml stage that records its pid and sleeps, as the only stage of the flow."""
    (ws / "hang.py").write_text(HANGING_STAGE)
    pipeline = yaml.safe_load((ws / "dvc.yaml").read_text())
    pipeline["stages"]["hang"] = {"cmd": "python hang.py"}
    (ws / "dvc.yaml").write_text(yaml.safe_dump(pipeline, sort_keys=False))
    params = yaml.safe_load((ws / "params.yaml").read_text())
    params["flow"]["stages"] = ["hang"]
    (ws / "params.yaml").write_text(yaml.safe_dump(params, sort_keys=False))
    run(["git", "add", "-A"], ws)
    run(["git", "commit", "-qm", "a stage that hangs"], ws)


# Fails the first time it runs (a transient failure: exit 1, no user error), then succeeds.
FLAKY_STAGE = """
import pathlib, sys
tries = pathlib.Path("flaky.tries")
n = int(tries.read_text()) + 1 if tries.exists() else 1
tries.write_text(str(n))
if n == 1:
    print("a network blip", file=sys.stderr)
    sys.exit(1)
pathlib.Path("flaky.out").write_text("ok")
"""


def test_a_stage_that_fails_once_is_retried_in_a_new_dvc_process_that_also_runs_the_stages_after_it(workspace):
    (workspace / "flaky.py").write_text(FLAKY_STAGE)
    pipeline = yaml.safe_load((workspace / "dvc.yaml").read_text())
    pipeline["stages"]["flaky"] = {"cmd": "python flaky.py", "outs": ["flaky.out"]}
    pipeline["stages"]["after"] = {"cmd": "python -c \"open('after.out', 'w').write('x')\"", "deps": ["flaky.out"],
                                   "outs": ["after.out"]}
    (workspace / "dvc.yaml").write_text(yaml.safe_dump(pipeline, sort_keys=False))
    params = yaml.safe_load((workspace / "params.yaml").read_text())
    params["flow"].update(stages=["scrape", "flaky", "after"], retries=1, retry_delay_seconds=0)
    (workspace / "params.yaml").write_text(yaml.safe_dump(params, sort_keys=False))
    run(["git", "add", "-A"], workspace)
    run(["git", "commit", "-qm", "a flaky stage"], workspace)

    summary = retrain_flow(profile="smoke", root=str(workspace))
    assert [(s.stage, s.status) for s in summary.stages] == [("scrape", "ran"), ("flaky", "ran"), ("after", "ran")]
    assert (workspace / "flaky.tries").read_text() == "2" and (workspace / "after.out").is_file()
    assert "a network blip" not in (workspace / "reports" / "logs" / "flaky.log").read_text()  # the retry's log


def _gone(pid: int, within_s: float) -> bool:
    import os
    import time

    deadline = time.monotonic() + within_s
    while time.monotonic() < deadline:
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return True
        time.sleep(0.1)
    return False


def test_a_retrain_terminated_mid_stage_ends_killed_crashed_in_prefect_and_the_next_retrain_says_so(workspace):
    import os
    import signal
    import subprocess
    import sys
    import time

    from prefect.client.orchestration import get_client

    from components.tracking.service import TrackingService

    _only_a_hanging_stage(workspace)
    env = {**os.environ, "PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS": "300", "VTON_STAGE_ECHO": "0"}
    retrain = subprocess.Popen([sys.executable, "-m", "components.cli", "retrain"], cwd=workspace, env=env,
                               stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    marker = workspace / "hang.pid"
    record = workspace / "reports" / "logs" / "retrain.json"

    def run_open() -> bool:  # the stage starts before the flow (flows/head_start.py): wait for its MLflow run too
        return record.is_file() and '"RUNNING"' in record.read_text()

    deadline = time.monotonic() + 300
    while not (marker.is_file() and run_open()) and retrain.poll() is None and time.monotonic() < deadline:
        time.sleep(0.2)
    assert marker.is_file() and run_open(), f"the stage never started:\n{retrain.communicate(timeout=60)[0]}"
    stage_pid = int(marker.read_text())

    retrain.send_signal(signal.SIGTERM)  # a real signal to the real `vton retrain` process, mid-stage
    output, _ = retrain.communicate(timeout=180)
    assert retrain.returncode == 128 + signal.SIGTERM, output
    assert _gone(stage_pid, within_s=15), "the stage's own process outlived the terminated retrain"

    service = TrackingService(workspace)
    exp = service.client.get_experiment_by_name("vton-pipeline").experiment_id
    (killed,) = service.client.search_runs([exp], "tags.`vton.stage` = 'retrain'")
    assert killed.info.status == "KILLED"  # not FINISHED, not RUNNING
    tags = killed.data.tags
    assert tags["vton.stage_status.hang"] == "killed" and tags["vton.stages"] == "hang=killed"
    assert tags["vton.end_reason"] == "terminated (SIGTERM)"
    with get_client(sync_client=True) as client:
        state = client.read_flow_run(tags["prefect.flow_run_id"]).state
    assert state.type.value in ("CRASHED", "CANCELLED"), state

    marker.unlink()
    # INFO (the suite's default is WARNING): the flow's last line, "Finished in state Completed()", reaches Prefect.
    after = run([sys.executable, "-m", "components.cli", "retrain", "--stage", "scrape"], workspace,
                env={**env, "PREFECT_LOGGING_LEVEL": "INFO"})
    report = f"the previous retrain (MLflow run {killed.info.run_id}) ended KILLED: terminated (SIGTERM)"
    assert report in after.stdout + after.stderr
    # `vton retrain` exits without the interpreter's teardown once it has succeeded: Prefect still has its end.
    from prefect.client.schemas.filters import LogFilter, LogFilterFlowRunId

    flow_run_id = re.search(r"Prefect run:\s+(\S+)", after.stdout).group(1)
    with get_client(sync_client=True) as client:
        assert client.read_flow_run(flow_run_id).state.type.value == "COMPLETED"
        logs = client.read_logs(LogFilter(flow_run_id=LogFilterFlowRunId(any_=[flow_run_id])))
    assert any(log.task_run_id is None and log.message.startswith("Finished in state Completed") for log in logs)


def _quick_smoke(ws) -> None:
    """The smoke profile with a few training steps and two test pairs per category, committed: what the
    clean-outputs test proves is the registry's recovery, which needs every stage but not a good model."""
    path = ws / "params.yaml"
    raw = yaml.safe_load(path.read_text())
    smoke = raw["profiles"]["smoke"]
    smoke["train"]["gmm_tom"]["steps"] = {"gmm": 5, "tom": 5}
    smoke["train"]["checkpoint_every"] = 5
    smoke["evaluate"]["max_pairs_per_category"] = 2
    path.write_text(yaml.safe_dump(raw, sort_keys=False))
    run(["git", "commit", "-qam", "quick smoke"], ws)


@pytest.mark.timeout(1800)  # two whole smoke retrains: minutes each on a loaded 2-core machine
def test_after_make_clean_outputs_the_next_retrain_registers_the_candidate_again_without_an_mlflow_error(workspace):
    """The whole smoke chain twice, as a user runs it: retrain, `make clean-outputs`, retrain."""
    import os
    import shutil
    import sys

    from components.params import load_params
    from components.registry.promotion import CHAMPION, version_exists
    from components.tracking.service import TrackingService
    from tests.conftest import REPO

    shutil.copy(REPO / "Makefile", workspace / "Makefile")
    _quick_smoke(workspace)
    env = {**os.environ, "PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS": "300", "VTON_STAGE_ECHO": "0"}
    first = run([sys.executable, "-m", "components.cli", "retrain"], workspace, env=env)
    assert "promoted: v1 is champion" in first.stdout, first.stdout
    assert "data vs champion: no champion yet" in first.stdout  # the diff ran beside train and evaluate

    run(["make", "clean-outputs"], workspace)  # the registry (mlflow.db) and models/ go; the DVC cache stays
    assert not (workspace / "mlflow.db").exists() and not (workspace / "models").exists()

    after = run([sys.executable, "-m", "components.cli", "retrain"], workspace, env=env)
    out = after.stdout + after.stderr
    assert "Traceback" not in out and "RESOURCE_DOES_NOT_EXIST" not in out and "error:" not in out, out
    assert "the candidate's registered version is gone: training it again" in out
    summary = out[out.index("retrain (smoke) finished:"):]
    assert "train=ran" in summary.splitlines()[0] and "evaluate=ran" in summary.splitlines()[0], summary
    assert "promoted: v1 is champion (was none)" in summary, summary  # registered again in the new registry

    name = load_params(workspace / "params.yaml").project.registered_model
    client = TrackingService(workspace).client
    assert version_exists(client, name, "1")
    assert str(client.get_model_version_by_alias(name, CHAMPION).version) == "1"
