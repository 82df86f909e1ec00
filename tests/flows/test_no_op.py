"""`vton retrain` on an unchanged pipeline: DVC's answer alone, only after a retrain that finished."""

import sqlite3
import sys

import pytest
import yaml

from flows.no_op import answer_by_dvc, eligible_record
from flows.retrain_record import read_record, write_record
from tests.conftest import REPO, run


def _store(tmp_path):
    path = tmp_path / "mlflow.db"
    with sqlite3.connect(path) as db:
        db.execute("create table t (x)")
    return f"sqlite:///{path}", path


def test_a_finished_retrain_with_an_untouched_store_allows_an_unrecorded_no_op(tmp_path):
    uri, _ = _store(tmp_path)
    write_record(tmp_path / "logs", "FINISHED", "smoke", "run1", "1", uri, "flow1")
    record = eligible_record(tmp_path / "logs", uri)
    assert record is not None and record.mlflow_run_id == "run1" and record.prefect_flow_run_id == "flow1"


@pytest.mark.parametrize("status", ["RUNNING", "FAILED", "KILLED"])
def test_a_retrain_that_did_not_finish_sends_the_next_one_down_the_usual_path(tmp_path, status):
    uri, _ = _store(tmp_path)
    write_record(tmp_path / "logs", status, "smoke", "run1", "1", uri, None)
    assert eligible_record(tmp_path / "logs", uri) is None


def test_a_write_to_the_store_since_the_last_retrain_sends_the_next_one_down_the_usual_path(tmp_path):
    uri, path = _store(tmp_path)
    write_record(tmp_path / "logs", "FINISHED", "smoke", "run1", "1", uri, None)
    with sqlite3.connect(path) as db:  # a promotion by hand, a registry reset: anything MLflow writes
        db.execute("insert into t values (1)")
    assert eligible_record(tmp_path / "logs", uri) is None


def test_a_recreated_store_another_store_or_a_server_sends_the_next_one_down_the_usual_path(tmp_path):
    uri, path = _store(tmp_path)
    write_record(tmp_path / "logs", "FINISHED", "smoke", "run1", "1", uri, None)
    assert eligible_record(tmp_path / "logs", f"sqlite:///{tmp_path / 'other.db'}") is None
    path.unlink()
    _store(tmp_path)
    assert eligible_record(tmp_path / "logs", uri) is None
    write_record(tmp_path / "logs", "FINISHED", "smoke", "run1", "1", "http://127.0.0.1:5000", None)
    assert eligible_record(tmp_path / "logs", "http://127.0.0.1:5000") is None


def test_a_missing_or_garbled_record_allows_no_unrecorded_no_op(tmp_path):
    uri, _ = _store(tmp_path)
    assert eligible_record(tmp_path / "logs", uri) is None
    (tmp_path / "logs").mkdir()
    (tmp_path / "logs" / "retrain.json").write_text('{"status": "FINISHED"')
    assert read_record(tmp_path / "logs") is None and eligible_record(tmp_path / "logs", uri) is None


def _retrain_runs(ws):
    from components.tracking.service import TrackingService

    service = TrackingService(ws)
    exp = service.client.get_experiment_by_name("vton-pipeline").experiment_id
    return service.client.search_runs([exp], "tags.`vton.stage` = 'retrain'")


@pytest.mark.slow
def test_an_unchanged_pipeline_after_a_finished_retrain_opens_no_runs_until_asked_or_something_changes(workspace):
    params = yaml.safe_load((workspace / "params.yaml").read_text())
    params["flow"]["stages"] = ["scrape", "import"]
    (workspace / "params.yaml").write_text(yaml.safe_dump(params, sort_keys=False))
    run(["git", "commit", "-qam", "scrape and import"], workspace)
    retrain = [sys.executable, "-m", "components.cli", "retrain"]
    env = {"PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS": "300", "VTON_STAGE_ECHO": "0"}

    first = run(retrain, workspace, env=env)
    assert "retrain (smoke) finished: scrape=ran, import=ran" in first.stdout, first.stdout
    (recorded,) = _retrain_runs(workspace)
    assert read_record(workspace / "reports" / "logs").status == "FINISHED"

    second = run(retrain, workspace, env=env)
    assert "retrain (smoke) no-op: scrape=ran, import=skipped" in second.stdout, second.stdout
    assert "no Prefect or MLflow retrain run for a no-op" in second.stdout
    assert f"MLflow run {recorded.info.run_id}" in second.stdout and "Prefect run:" not in second.stdout
    assert len(_retrain_runs(workspace)) == 1  # scrape logged its own run, as under `dvc repro`; no retrain run
    assert (workspace / "reports" / "logs" / "scrape.log").is_file()

    third = run([*retrain, "--record"], workspace, env=env)
    assert "retrain (smoke) finished: scrape=ran, import=skipped" in third.stdout, third.stdout
    runs = _retrain_runs(workspace)
    assert len(runs) == 2 and runs[0].data.tags["vton.noop"] == "true"

    params["import"]["min_side"] = 65  # a changed param: DVC has work, so the usual path runs it
    (workspace / "params.yaml").write_text(yaml.safe_dump(params, sort_keys=False))
    assert answer_by_dvc("smoke", None, workspace) is None


def test_the_no_op_check_imports_neither_prefect_nor_mlflow():
    code = ("import sys, flows.no_op, flows.retrain_record, flows.early_status; "
            "print(sorted({m.split('.')[0] for m in sys.modules} & {'prefect', 'mlflow', 'pandas', 'torch'}))")
    assert run([sys.executable, "-c", code], cwd=REPO).stdout.strip() == "[]"
