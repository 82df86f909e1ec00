"""The retrain flow end to end in a temp git + DVC workspace, with a real Prefect flow and SQLite MLflow."""

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
