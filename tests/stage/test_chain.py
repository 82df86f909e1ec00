"""One `dvc repro` process for a chain of stages, each stage's part told apart (real DVC in a temp git + DVC repo)."""

from __future__ import annotations

import io
import sys
import time
from pathlib import Path

import pytest
import yaml

from components.stage.chain import NotReached, header
from components.stage.dvc import Dvc, DvcFailed, StageStatus
from tests.conftest import run

# Each stage prints its name and param, copies its input to its output; `n < 0` makes `b` fail like a `vton` step.
STEP = """
import sys, yaml
name, src, dst = sys.argv[1:]
n = yaml.safe_load(open("params.yaml"))["n"]
print(f"{name} says {n}", flush=True)
if name == "b" and n < 0:
    print(f"error: n must be >= 0, got {n}", file=sys.stderr)
    print("  fix: set n in params.yaml", file=sys.stderr)
    sys.exit(2)
open(dst, "w").write(open(src).read() + name)
"""


@pytest.fixture
def chain_repo(tmp_path: Path) -> Path:
    """A git + DVC project with stages a -> b -> c, each reading `n` and the previous stage's output."""
    root = tmp_path / "proj"
    root.mkdir()
    (root / "step.py").write_text(STEP)
    (root / "seed.txt").write_text("s")
    (root / "params.yaml").write_text("n: 1\n")
    stages, previous = {}, "seed.txt"
    for name in ("a", "b", "c"):
        stages[name] = {"cmd": f"{sys.executable} step.py {name} {previous} {name}.txt",
                        "deps": ["step.py", previous], "params": ["n"], "outs": [f"{name}.txt"]}
        previous = f"{name}.txt"
    (root / "dvc.yaml").write_text(yaml.safe_dump({"stages": stages}, sort_keys=False))
    run(["git", "init", "-q", "-b", "main"], root)
    run([sys.executable, "-m", "dvc", "init", "-q"], root)
    run(["git", "add", "-A"], root)
    run(["git", "commit", "-qm", "init"], root)
    return root


def test_dvcs_stage_announcements_are_read_as_the_stage_and_what_dvc_does_with_it():
    assert header("Running stage 'train':") == ("train", StageStatus.RAN)
    assert header("Stage 'train' didn't change, skipping") == ("train", StageStatus.SKIPPED)
    assert header("Stage 'train' is cached - skipping run, checking out outputs") == ("train", StageStatus.RESTORED)
    assert header("train: Running stage 'x': no") is None and header("'data.dvc' didn't change, skipping") is None


def test_one_process_runs_the_stages_in_order_each_with_its_own_lines_log_and_outcome(chain_repo, tmp_path):
    logs = {s: tmp_path / "logs" / f"{s}.log" for s in "abc"}
    terminal = io.BytesIO()
    chain = Dvc(chain_repo).start_chain(["a", "b", "c"], logs=logs, echo=terminal)
    seen = {s: [] for s in "abc"}
    results = {s: chain.result(s, on_line=seen[s].append) for s in "abc"}
    assert chain.wait() == 0
    assert {s: r.status for s, r in results.items()} == dict.fromkeys("abc", StageStatus.RAN)
    assert (chain_repo / "c.txt").read_text() == "sabc"
    for s in "abc":
        assert f"{s} says 1" in seen[s] and not any(f"{o} says" in ln for o in "abc" if o != s for ln in seen[s])
        assert f"Running stage '{s}':" in logs[s].read_text() and results[s].log_path == logs[s]
        assert f"{s} says 1" in terminal.getvalue().decode()
    assert not chain.can_take("a")  # each outcome is taken once


def test_unchanged_stages_are_skipped_and_reverted_ones_restored_inside_one_process(chain_repo):
    dvc = Dvc(chain_repo)
    first = dvc.start_chain(["a", "b", "c"], echo=io.BytesIO())
    assert [first.result(s).status for s in "abc"] == [StageStatus.RAN] * 3
    again = dvc.start_chain(["a", "b", "c"], echo=io.BytesIO())
    assert [again.result(s).status for s in "abc"] == [StageStatus.SKIPPED] * 3
    (chain_repo / "params.yaml").write_text("n: 2\n")
    changed = dvc.start_chain(["a", "b", "c"], echo=io.BytesIO())
    assert [changed.result(s).status for s in "abc"] == [StageStatus.RAN] * 3
    (chain_repo / "params.yaml").write_text("n: 1\n")
    restored = dvc.start_chain(["a", "b", "c"], echo=io.BytesIO())
    assert [restored.result(s).status for s in "abc"] == [StageStatus.RESTORED] * 3
    forced = dvc.start_chain(["a", "b"], force=True, echo=io.BytesIO())
    assert [forced.result(s).status for s in "ab"] == [StageStatus.RAN] * 2


def test_a_failing_stage_raises_its_own_message_and_the_stages_after_it_were_never_reached(chain_repo, tmp_path):
    (chain_repo / "params.yaml").write_text("n: -1\n")
    logs = {s: tmp_path / f"{s}.log" for s in "abc"}
    chain = Dvc(chain_repo).start_chain(["a", "b", "c"], logs=logs, echo=io.BytesIO())
    assert chain.result("a").status is StageStatus.RAN
    with pytest.raises(DvcFailed) as caught:
        chain.result("b")
    message = str(caught.value)
    assert message.startswith("stage 'b' failed: error: n must be >= 0, got -1\n  fix: set n in params.yaml")
    assert message.endswith(f"log: {logs['b']}") and caught.value.stage_exit == 2 and not caught.value.transient
    assert "a says" not in logs["b"].read_text() and "n must be >= 0" in logs["b"].read_text()
    chain.wait()
    assert not chain.can_take("c") and not logs["c"].exists()
    with pytest.raises(NotReached):
        chain.result("c")


def test_stopping_a_chain_names_the_stage_it_ran_that_nobody_was_waiting_for(chain_repo, tmp_path):
    spec = yaml.safe_load((chain_repo / "dvc.yaml").read_text())
    spec["stages"]["slow"] = {"cmd": f"{sys.executable} -c \"import time; time.sleep(60)\"", "deps": ["a.txt"]}
    (chain_repo / "dvc.yaml").write_text(yaml.safe_dump(spec, sort_keys=False))
    logs = {s: tmp_path / f"{s}.log" for s in ("a", "slow")}
    chain = Dvc(chain_repo).start_chain(["a", "slow"], logs=logs, echo=io.BytesIO())
    assert chain.result("a").status is StageStatus.RAN
    deadline = time.monotonic() + 60
    while not (logs["slow"].is_file() and "Running stage 'slow'" in logs["slow"].read_text()):
        assert time.monotonic() < deadline, "the slow stage never started"
        time.sleep(0.1)
    assert chain.stop() == "slow" and chain.process.poll() is not None
    assert chain.stop() is None  # ended: nothing left to stop
