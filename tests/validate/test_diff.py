"""Dataset diff: what was added and removed per category and source, annotation drift, new quarantine reasons;
and `vton data diff` across two revisions of a real git + DVC repo."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

from components.errors import DataContractError
from components.manifest.schema import conform, write_manifest
from components.validate.diff import champion_revision, diff_manifests, reason_kind, render_markdown
from tests.conftest import run


def _row(sid: str, category: str, source: str = "studio", status: str = "ok", reason: str | None = None,
         conf: float = 0.9, area: float = 1000.0) -> dict:
    return {"sample_id": sid, "category": category, "split": "train", "status": status, "quarantine_reason": reason,
            "source": source, "licence": "CC0", "person_path": f"image/{sid}.png", "garment_path": f"cloth/{sid}.png",
            "keypoint_confidence_mean": conf if status == "ok" else None,
            "cloth_mask_area": area if status == "ok" else None}


def _old_new() -> tuple[pd.DataFrame, pd.DataFrame]:
    old = conform(pd.DataFrame([
        _row("a", "upper_body"), _row("b", "upper_body"), _row("c", "lower_body"), _row("d", "dresses"),
        _row("q", "dresses", status="quarantined", reason="raw/x.png: person image: too small (40x40 px)"),
    ]))
    new = conform(pd.DataFrame([
        _row("a", "upper_body", conf=0.5), _row("b", "upper_body", conf=0.5),
        _row("c", "lower_body", status="quarantined", reason="several people: 2 found"),
        _row("e", "lower_body", source="shop"), _row("f", "lower_body", source="shop"),
        _row("q", "dresses", status="quarantined", reason="raw/y.png: person image: too small (30x41 px)"),
    ]))
    return old, new


def test_diff_counts_added_removed_and_newly_quarantined_per_category_and_source() -> None:
    diff = diff_manifests(*_old_new())
    t = diff.changes.set_index(["category", "source"])
    assert t.loc[("lower_body", "shop"), "added"] == 2
    assert t.loc[("dresses", "studio"), "removed"] == 1  # d
    assert t.loc[("lower_body", "studio"), "newly_quarantined"] == 1  # c
    assert (diff.added, diff.removed, diff.n_old, diff.n_new) == (2, 1, 5, 6)


def test_diff_reports_annotation_drift_per_category() -> None:
    diff = diff_manifests(*_old_new())
    d = diff.drift.set_index(["category", "figure"])
    assert d.loc[("upper_body", "mean keypoint_confidence_mean"), "change"] == pytest.approx(-0.4)
    assert d.loc[("overall", "mean keypoint_confidence_mean"), "new"] == pytest.approx((0.5 + 0.5 + 0.9 + 0.9) / 4)


def test_only_quarantine_reasons_absent_before_count_as_new() -> None:
    diff = diff_manifests(*_old_new())
    assert diff.new_reasons == ["several people: # found"]  # "too small" differs only in numbers and file
    assert reason_kind("raw/x.png: person image: too small (40x40 px)") == "person image: too small (#x# px)"
    text = render_markdown(diff)
    assert "| several people: # found | 0 | 1 | **new** |" in text
    assert "| lower_body | shop | 0 | 2 | 2 | 0 | 0 | 0 |" in text


def test_champion_revision_comes_from_the_run_code_version_tag() -> None:
    assert champion_revision({"vton.code_version": "abc123-dirty", "vton.data_version": "f00"}) == "abc123"
    with pytest.raises(DataContractError):
        champion_revision({"vton.data_version": "f00"})


def _git_dvc_repo(tmp_path: Path) -> Path:
    """An empty git + DVC repository."""
    repo = tmp_path / "repo"
    repo.mkdir()
    run(["git", "init", "-q", "-b", "main"], repo)
    run([sys.executable, "-m", "dvc", "init", "-q"], repo)
    return repo


def _commit_manifest(repo: Path, manifest, message: str) -> None:
    """Write `manifest` as data/augmented, track it with DVC and commit."""
    write_manifest(manifest, repo / "data" / "augmented")
    run([sys.executable, "-m", "dvc", "add", "-q", "data/augmented"], repo)
    run(["git", "add", "-A"], repo)
    run(["git", "commit", "-qm", message], repo)


def test_vton_data_diff_compares_two_revisions_of_a_git_dvc_repo(tmp_path: Path) -> None:
    repo = _git_dvc_repo(tmp_path)
    old, new = _old_new()
    _commit_manifest(repo, old, "data v1")
    _commit_manifest(repo, new, "data v2")
    cli = [sys.executable, "-m", "components.cli", "data", "diff", "HEAD~1", "HEAD", "--manifest", "data/augmented"]
    env = {"VTON_PROJECT_ROOT": str(repo), "PYTHONPATH": str(Path(__file__).resolve().parents[2])}
    out = subprocess.run([*cli, "--json"], cwd=repo, capture_output=True, text=True, env={**os.environ, **env})
    assert out.returncode == 0, out.stderr
    doc = json.loads(out.stdout)
    assert (doc["added"], doc["removed"], doc["new_reasons"]) == (2, 1, ["several people: # found"])
    md = run(cli, repo, env=env).stdout
    assert "HEAD~1 -> HEAD: 5 -> 6 samples, +2 added, -1 removed, 1 new quarantine reason(s)" in md
    missing = subprocess.run([*cli[:5], "nosuchrev", "HEAD", "--manifest", "data/augmented"], cwd=repo,
                             capture_output=True, text=True, env={**os.environ, **env})
    assert missing.returncode == 2 and "cannot read data/augmented/manifest.parquet at revision 'nosuchrev'" in missing.stderr


def test_champion_data_diff_reads_the_champions_commit_and_logs_to_mlflow(tmp_path: Path, mlflow_uri: str) -> None:
    import mlflow

    from components.validate.diff import champion_data_diff, log_diff

    repo = _git_dvc_repo(tmp_path)
    old, new = _old_new()
    _commit_manifest(repo, old, "champion data")
    commit = run(["git", "rev-parse", "HEAD"], repo).stdout.strip()
    write_manifest(new, repo / "data" / "augmented")  # the workspace now holds newer data

    mlflow.set_tracking_uri(mlflow_uri)
    assert champion_data_diff("tryon", "data/augmented", repo) is None  # no champion yet
    with mlflow.start_run(tags={"vton.code_version": f"{commit}-dirty", "vton.data_version": "abcdef12"}) as champ:
        mlflow.log_text("model", "model/MLmodel")
    client = mlflow.MlflowClient()
    client.create_registered_model("tryon")
    mv = client.create_model_version("tryon", f"runs:/{champ.info.run_id}/model", run_id=champ.info.run_id)
    client.set_registered_model_alias("tryon", "champion", mv.version)

    diff = champion_data_diff("tryon", "data/augmented", repo)
    assert diff is not None and (diff.added, diff.removed) == (2, 1)
    assert diff.old_label == f"champion@{commit[:8]} (raw data abcdef12)" and diff.new_label == "workspace"
    with mlflow.start_run() as retrain:
        log_diff(diff)
    logged = client.get_run(retrain.info.run_id)
    assert logged.data.metrics["data_diff.added"] == 2.0
    assert {a.path for a in client.list_artifacts(retrain.info.run_id, "data_diff")} == {
        "data_diff/diff.md", "data_diff/diff.json"}
