"""Lineage that tells the truth: the code version is dirty only when tracked code differs from the commit."""

from __future__ import annotations

import os
from pathlib import Path

import mlflow
import pytest

from components.params import load_params
from components.tracking.contract import Tag
from components.tracking.mlflow_run import attached_run, git_commit, lineage_tags, params_hash, stage_run
from tests.conftest import run

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture
def git_project(tmp_path: Path) -> Path:
    root = tmp_path / "proj"
    (root / "components").mkdir(parents=True)
    (root / "components" / "step.py").write_text("X = 1\n")
    (root / "params.yaml").write_text("profile: smoke\n")
    (root / "dvc.lock").write_text("schema: '2.0'\nstages: {}\n")
    (root / "data.dvc").write_text("outs:\n- md5: abc.dir\n  path: raw\n")
    (root / ".gitignore").write_text("/reports/\n")
    run(["git", "init", "-q", "-b", "main"], root)
    run(["git", "add", "-A"], root)
    run(["git", "commit", "-qm", "init"], root)
    return root


def test_the_pipeline_rewriting_params_lock_and_dvc_files_leaves_the_code_version_clean(git_project):
    sha = run(["git", "rev-parse", "HEAD"], git_project).stdout.strip()
    # What a retrain does to a fresh clone: `--profile` rewrites params.yaml, `dvc repro` dvc.lock, DVC .gitignores.
    (git_project / "params.yaml").write_text("profile: test\n")
    (git_project / "dvc.lock").write_text("schema: '2.0'\nstages: {import: {}}\n")
    (git_project / "data.dvc").write_text("outs:\n- md5: def.dir\n  path: raw\n")
    (git_project / ".gitignore").write_text("/reports/\n/imported\n")
    assert git_commit(git_project) == sha


def test_a_changed_tracked_source_file_makes_the_code_version_dirty_and_names_it(git_project):
    sha = run(["git", "rev-parse", "HEAD"], git_project).stdout.strip()
    (git_project / "components" / "step.py").write_text("X = 2\n")
    (git_project / "notes.txt").write_text("untracked files are not code changes\n")
    tags = lineage_tags("smoke", git_project)
    assert tags[Tag.CODE_VERSION] == f"{sha}-dirty"
    assert tags[Tag.CODE_DIRTY_FILES] == "components/step.py"


def test_lineage_records_the_profile_and_a_hash_of_the_params_used_beside_the_code_version(git_project):
    smoke, full = load_params(REPO / "params.yaml", "smoke"), load_params(REPO / "params.yaml", "full")
    tags = lineage_tags("smoke", git_project, smoke)
    assert tags[Tag.PROFILE] == "smoke" and tags[Tag.DATA_VERSION] == "abc.dir"
    assert tags[Tag.PARAMS_HASH] == params_hash(load_params(REPO / "params.yaml", "smoke"))  # stable
    assert params_hash(full) != tags[Tag.PARAMS_HASH] and len(tags[Tag.PARAMS_HASH]) == 64


def test_a_stage_logs_into_the_retrain_run_and_leaves_it_running(mlflow_uri, monkeypatch):
    mlflow.set_tracking_uri(mlflow_uri)
    client = mlflow.MlflowClient(mlflow_uri)
    exp = client.create_experiment("vton-pipeline")
    retrain = client.create_run(exp, tags={Tag.STAGE: "retrain"}).info.run_id
    monkeypatch.setenv("VTON_MLFLOW_RUN_ID", retrain)
    with stage_run("validate", "vton-pipeline"):
        mlflow.log_metric("validate.errors", 0)
    assert mlflow.active_run() is None and "MLFLOW_RUN_ID" not in os.environ
    after = client.get_run(retrain)
    assert after.info.status == "RUNNING" and after.data.metrics["validate.errors"] == 0
    with pytest.raises(RuntimeError), attached_run(retrain):
        raise RuntimeError("a stage that fails does not end the run either")
    assert client.get_run(retrain).info.status == "RUNNING"


def test_a_standalone_stage_run_still_ends_finished(mlflow_uri, monkeypatch):
    monkeypatch.delenv("VTON_MLFLOW_RUN_ID", raising=False)
    with stage_run("validate", "vton-pipeline") as active:
        run_id = active.info.run_id
    assert mlflow.MlflowClient().get_run(run_id).info.status == "FINISHED"
