"""The `dvc status` the no-op check asks before importing Prefect: its answer is used only while it still describes
the workspace (real DVC in a temp git + DVC project: an always-changed source stage and a stage that reads it)."""

from __future__ import annotations

import io
import sys
from pathlib import Path

import pytest
import yaml

from components.stage.dvc import Dvc
from flows import early_status
from tests.conftest import run

# The always-changed stage writes what `source.txt` says (like scrape: re-run every time, same output if the
# sites did not change); `use` copies it.
SOURCE = "open('scraped.txt', 'w').write(open('source.txt').read())"
USE = "open('used.txt', 'w').write(open('scraped.txt').read() + str(__import__('yaml').safe_load(open('params.yaml'))['n']))"


@pytest.fixture
def project(tmp_path: Path, monkeypatch) -> Path:
    """A git + DVC project with stages `fetch` (always_changed) -> `use`, both run once."""
    root = tmp_path / "proj"
    root.mkdir()
    (root / "source.txt").write_text("a")
    (root / "params.yaml").write_text("n: 1\n")
    stages = {
        "fetch": {"cmd": f'{sys.executable} -c "{SOURCE}"', "deps": ["source.txt"], "outs": ["scraped.txt"],
                  "always_changed": True},
        "use": {"cmd": f'{sys.executable} -c "{USE}"', "deps": ["scraped.txt"], "params": ["n"], "outs": ["used.txt"]},
    }
    (root / "dvc.yaml").write_text(yaml.safe_dump({"stages": stages}, sort_keys=False))
    run(["git", "init", "-q", "-b", "main"], root)
    run([sys.executable, "-m", "dvc", "init", "-q"], root)
    for stage in ("fetch", "use"):
        Dvc(root).repro(stage, echo=io.BytesIO())
    run(["git", "add", "-A"], root)
    run(["git", "commit", "-qm", "init"], root)
    monkeypatch.setenv("VTON_PROJECT_ROOT", str(root))
    return root


def test_the_early_status_answers_for_the_stages_after_the_always_changed_one():
    assert early_status.status_targets(["fetch", "use", "more"], {"fetch"}) == ["use", "more"]
    assert early_status.status_targets(["use"], {"fetch"}) == ["use"]
    assert early_status.status_targets(["use", "fetch"], {"fetch"}) == []


def test_an_unchanged_pipeline_is_up_to_date_after_the_always_changed_stage_reruns_with_the_same_output(project):
    early = early_status.start(project, ["fetch", "use"])
    assert early is not None and early.targets == ["use"]
    early.wait()
    Dvc(project).repro("fetch", echo=io.BytesIO())  # what the flow's first stage does
    assert early.up_to_date(project, ["use"]) == {"use"}


def test_the_answer_is_not_trusted_once_the_always_changed_stage_wrote_something_new(project):
    early = early_status.start(project, ["fetch", "use"])
    early.wait()
    (project / "source.txt").write_text("b")  # new upstream data: fetch writes a different scraped.txt
    Dvc(project).repro("fetch", echo=io.BytesIO())
    assert early.up_to_date(project, ["use"]) is None  # no no-op: the flow runs the stages
    assert Dvc(project).status("use") != {}  # ... and DVC says `use` has work to do


def test_the_answer_is_not_trusted_after_params_changed_or_for_another_chain(project):
    early = early_status.start(project, ["fetch", "use"])
    early.wait()
    (project / "params.yaml").write_text("n: 2\n")
    assert early.up_to_date(project, ["use"]) is None
    again = early_status.start(project, ["fetch", "use"])
    assert again.up_to_date(project, ["use", "fetch"]) is None  # not the stages it was asked about
    assert early_status.start(project, ["use"]).up_to_date(project, ["use"]) == set()  # n changed: work to do
