"""`vton data scrape` from the command line and as the DVC `scrape` stage feeding `import`."""

from __future__ import annotations

import sys

import pytest
from typer.testing import CliRunner

from components.cli import app
from components.data.scrape.output import read_pairs, read_quarantine
from tests.conftest import REPO, run


def test_scrape_command_builds_the_paired_folder(fixture_shop, tmp_path, monkeypatch):
    monkeypatch.setenv("VTON_PROJECT_ROOT", str(REPO))
    out, state = tmp_path / "scraped", tmp_path / "state"
    result = CliRunner().invoke(app, ["data", "scrape", "--config", str(fixture_shop.site_yaml), "--out", str(out),
                                      "--state-dir", str(state)])
    assert result.exit_code == 0, result.output
    assert "scraped 3 pairs, 8 quarantined" in result.output
    assert len(read_pairs(out)) == 3 and len(read_quarantine(out)) == 8
    assert (state / "fixture-shop" / "state.sqlite").is_file()


def test_scrape_command_reports_a_bad_site_config(tmp_path, monkeypatch):
    monkeypatch.setenv("VTON_PROJECT_ROOT", str(REPO))
    bad = tmp_path / "site.yaml"
    bad.write_text("name: Bad Name\n")
    result = CliRunner().invoke(app, ["data", "scrape", "--config", str(bad), "--out", str(tmp_path / "o")])
    assert result.exit_code != 0
    assert "site.yaml: name" in str(result.exception)


@pytest.mark.slow
def test_dvc_scrape_stage_with_no_sites_feeds_import(workspace):
    dvc = [sys.executable, "-m", "dvc", "repro", "--single-item"]
    run(dvc + ["scrape"], workspace)
    assert read_pairs(workspace / "data" / "scraped") == []
    run(dvc + ["import"], workspace)
    lock = (workspace / "dvc.lock").read_text()
    # The stage always re-runs (sites change), but an unchanged output leaves import cached.
    again = run(dvc + ["scrape"], workspace)
    assert "Running stage 'scrape'" in again.stdout
    status = run([sys.executable, "-m", "dvc", "status", "import"], workspace)
    assert "changed" not in status.stdout, status.stdout
    assert "data/scraped" in lock
