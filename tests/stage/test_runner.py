"""`vton stage run` between two checkouts that share nothing but the DVC remote (a folder remote here)."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
import yaml

from components.stage.runner import push_source_inputs, run_remote_stage, stage_inputs, stage_outputs
from components.storage.dvc_remote import RemoteSettings, configure_remote
from tests.conftest import run

pytestmark = pytest.mark.slow


def _clone(src: Path, dest: Path, remote: RemoteSettings) -> Path:
    run(["git", "clone", "-q", str(src), str(dest)], src.parent)
    configure_remote(dest, remote)
    return dest


def test_import_reads_tracked_data_not_code_and_writes_imported(workspace: Path):
    inputs = stage_inputs(workspace, "import")
    assert "data/raw" in inputs and not any(p.startswith("components") for p in inputs)
    assert stage_inputs(workspace, "import", sources_only=True) == ["data/raw"]  # the data.dvc-tracked one
    assert stage_outputs(workspace, "import") == ["data/imported"]


def test_a_worker_without_data_pulls_runs_and_pushes_with_the_same_lineage(workspace: Path, tmp_path: Path):
    remote = RemoteSettings("team", str(tmp_path / "remote"))
    configure_remote(workspace, remote)
    assert push_source_inputs(workspace, "import") == ["data/raw"]

    worker = _clone(workspace, tmp_path / "worker", remote)
    assert not (worker / "data" / "raw").exists()  # git does not carry the data
    upstream = [s for s in ("scrape",) if s in yaml.safe_load((worker / "dvc.yaml").read_text())["stages"]]
    for stage in upstream:  # stages import depends on, run (and pushed) by this worker first
        run_remote_stage(worker, stage)
    result = run_remote_stage(worker, "import")
    assert result.status == "ran" and "data/raw" in result.pulled and result.pushed == ["data/imported"]
    assert (worker / "data" / "imported" / "manifest.parquet").is_file()

    lock = yaml.safe_load((worker / "dvc.lock").read_text())["stages"]["import"]
    imported_md5 = next(o["md5"] for o in lock["outs"] if o["path"] == "data/imported")
    assert (tmp_path / "remote" / "files" / "md5" / imported_md5[:2] / imported_md5[2:]).is_file()

    # A second worker given that lock restores the outputs from the remote instead of re-running.
    again = _clone(workspace, tmp_path / "worker2", remote)
    shutil.copy2(worker / "dvc.lock", again / "dvc.lock")
    second = run_remote_stage(again, "import")
    assert second.status == "skipped"
    assert yaml.safe_load((again / "dvc.lock").read_text())["stages"]["import"] == lock
    assert (again / "data" / "imported" / "manifest.parquet").is_file()


def test_a_worker_runs_the_stage_under_the_retrains_profile_not_the_committed_one(workspace: Path, tmp_path: Path):
    remote = RemoteSettings("team", str(tmp_path / "remote"))
    configure_remote(workspace, remote)
    push_source_inputs(workspace, "import")
    worker = _clone(workspace, tmp_path / "worker", remote)
    assert yaml.safe_load((worker / "params.yaml").read_text())["profile"] == "smoke"  # what git carries
    for stage in [s for s in ("scrape",) if s in yaml.safe_load((worker / "dvc.yaml").read_text())["stages"]]:
        run_remote_stage(worker, stage, profile="test")
    result = run_remote_stage(worker, "import", profile="test")
    assert result.status == "ran"
    assert yaml.safe_load((worker / "params.yaml").read_text())["profile"] == "test"
    lock = yaml.safe_load((worker / "dvc.lock").read_text())["stages"]["import"]
    assert lock["params"]["params.yaml"]["profile"] == "test"  # the lineage records the profile it ran under
