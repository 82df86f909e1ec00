"""The DVC adapter against real `dvc` in a temp git + DVC repo: live output, typed status, the stage's own error."""

from __future__ import annotations

import io
import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import yaml

from components.stage.dvc import Dvc, DvcFailed, LineSplitter, StageStatus
from tests.conftest import run

REPO = Path(__file__).resolve().parents[2]

# A stage that talks like a `vton` step: progress-bar redraws on stderr, lines on stdout, a param it reads.
TALKER = """
import sys, time, yaml
n = yaml.safe_load(open("params.yaml"))["n"]
print("starting", flush=True)
for i in range(1, 4):
    sys.stderr.write(f"\\rwork {i}/3"); sys.stderr.flush()
sys.stderr.write("\\n")
if n < 0:
    print("error: n must be >= 0, got %d" % n, file=sys.stderr)
    print("  fix: set n in params.yaml", file=sys.stderr)
    sys.exit(2)
open("out.txt", "w").write(str(n))
print("done", n, flush=True)
"""


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    """A git + DVC project with one stage, `talk`, that reads param `n` and writes out.txt."""
    root = tmp_path / "proj"
    root.mkdir()
    (root / "talker.py").write_text(TALKER)
    (root / "params.yaml").write_text("n: 1\n")
    stage = {"cmd": f"{sys.executable} talker.py", "deps": ["talker.py"], "params": ["n"], "outs": ["out.txt"]}
    (root / "dvc.yaml").write_text(yaml.safe_dump({"stages": {"talk": stage}}))
    run(["git", "init", "-q", "-b", "main"], root)
    run([sys.executable, "-m", "dvc", "init", "-q"], root)
    run(["git", "add", "-A"], root)
    run(["git", "commit", "-qm", "init"], root)
    return root


def test_repro_streams_lines_to_the_callback_raw_bytes_to_the_terminal_and_clean_lines_to_the_log(repo, tmp_path):
    lines: list[str] = []
    terminal = io.BytesIO()
    log = tmp_path / "logs" / "talk.log"
    result = Dvc(repo).repro("talk", log_path=log, on_line=lines.append, echo=terminal)
    assert result.status is StageStatus.RAN and result.log_path == log
    assert "starting" in lines and "done 1" in lines
    # The terminal gets the redraws as they were written (progress bars intact) ...
    assert b"\rwork 1/3\rwork 2/3\rwork 3/3\n" in terminal.getvalue()
    # ... the task log and the log file only the final state of the bar, once.
    assert [ln for ln in lines if ln.startswith("work")] == ["work 3/3"]
    logged = log.read_text().splitlines()
    assert "work 3/3" in logged and "work 1/3" not in log.read_text() and "done 1" in logged


def test_an_unchanged_stage_is_skipped_and_a_reverted_one_restored_from_the_run_cache(repo):
    dvc = Dvc(repo)
    assert dvc.repro("talk", echo=io.BytesIO()).status is StageStatus.RAN
    assert dvc.repro("talk", echo=io.BytesIO()).status is StageStatus.SKIPPED
    (repo / "params.yaml").write_text("n: 2\n")
    assert dvc.repro("talk", echo=io.BytesIO()).status is StageStatus.RAN
    (repo / "params.yaml").write_text("n: 1\n")
    assert dvc.repro("talk", echo=io.BytesIO()).status is StageStatus.RESTORED
    assert dvc.status() == {}


def test_a_status_started_in_the_background_answers_as_status_does_and_fails_with_dvcs_reason(repo):
    dvc = Dvc(repo)
    assert dvc.start_status("talk").result() == dvc.status("talk") != {}  # never run: changed
    dvc.repro("talk", echo=io.BytesIO())
    assert dvc.start_status("talk").result() == {}
    with pytest.raises(DvcFailed) as failed:
        dvc.start_status("no-such-stage").result()
    assert "no-such-stage" in str(failed.value) and "Traceback" not in str(failed.value)


def test_a_failing_stage_raises_its_own_message_once_with_the_log_path_and_no_traceback(repo, tmp_path):
    (repo / "params.yaml").write_text("n: -1\n")
    log = tmp_path / "talk.log"
    with pytest.raises(DvcFailed) as caught:
        Dvc(repo).repro("talk", log_path=log, echo=io.BytesIO())
    message = str(caught.value)
    assert message.startswith("stage 'talk' failed: error: n must be >= 0, got -1\n  fix: set n in params.yaml")
    assert message.count("n must be >= 0") == 1
    assert message.endswith(f"log: {log}") and "Traceback" not in message
    assert caught.value.stage_exit == 2 and caught.value.exit_code == 2 and not caught.value.transient
    assert "n must be >= 0" in log.read_text()  # the whole output is kept for later


def test_an_unknown_stage_is_a_failure_dvc_explains_not_a_retry():
    with pytest.raises(DvcFailed) as caught:
        Dvc(REPO).repro("no-such-stage", echo=io.BytesIO())
    assert "no-such-stage" in caught.value.reason and not caught.value.transient


def test_line_splitter_keeps_a_redrawn_line_once_and_a_trailing_line_without_newline():
    out: list[str] = []
    splitter = LineSplitter(out.append)
    for chunk in ("a\r", "b 50%\rb 10", "0%\nc\n", "tail"):
        splitter.feed(chunk)
    splitter.close()
    assert out == ["b 100%", "c", "tail"]


def test_the_repo_pipeline_reads_as_typed_stage_specs():
    stages = Dvc(REPO).stages()
    assert list(stages)[:2] == ["scrape", "import"]
    assert stages["train"].cmd.startswith("vton train") and "data/augmented" in stages["train"].deps
    assert stages["scrape"].always_changed and Dvc(REPO).always_changed() == {"scrape"}


def test_no_module_outside_the_adapter_runs_dvc_itself():
    """One adapter: the flow, the remote runner and the data preparation all go through components/stage/dvc.py."""
    pattern = re.compile(r"""["']-m["'],\s*["']dvc["']|\[["']dvc["'],""")
    offenders = []
    for folder in ("components", "flows"):
        for path in (REPO / folder).rglob("*.py"):
            if path.relative_to(REPO).as_posix() != "components/stage/dvc.py" and pattern.search(path.read_text()):
                offenders.append(path.relative_to(REPO).as_posix())
    assert offenders == [], f"these run dvc without the adapter: {offenders}"


# A stage that records its pid and process group, then sleeps while hang.please exists (else finishes at once).
HANGER = """
import os, pathlib, time
pathlib.Path("hang.pids").write_text(f"{os.getpid()} {os.getpgid(0)}")
while pathlib.Path("hang.please").exists():
    time.sleep(0.2)
pathlib.Path("hang.out").write_text("done")
"""
# The adapter as the retrain uses it, in a process of its own that the test can SIGKILL.
STARTER = "import sys; from pathlib import Path; from components.stage.dvc import Dvc; Dvc(Path(sys.argv[1])).repro('hang')"


def _gone(alive, within_s: float) -> bool:
    deadline = time.monotonic() + within_s
    while time.monotonic() < deadline:
        if not alive():
            return True
        time.sleep(0.1)
    return False


def _exists(kill, target: int) -> bool:
    try:
        kill(target, 0)
    except ProcessLookupError:
        return False
    return True


def test_a_sigkilled_retrain_takes_its_running_stage_and_dvc_with_it_and_leaves_no_lock_behind(repo):
    """SIGKILL runs no handler in the retrain; the watchdog beside `dvc repro` stops DVC and the stage command."""
    (repo / "hang.py").write_text(HANGER)
    spec = yaml.safe_load((repo / "dvc.yaml").read_text())
    spec["stages"]["hang"] = {"cmd": f"{sys.executable} hang.py", "deps": ["hang.py"], "outs": ["hang.out"]}
    (repo / "dvc.yaml").write_text(yaml.safe_dump(spec))
    (repo / "hang.please").touch()
    env = {**os.environ, "PYTHONPATH": str(REPO), "VTON_STAGE_ECHO": "0"}
    starter = subprocess.Popen([sys.executable, "-c", STARTER, str(repo)], cwd=repo, env=env,
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 120
    while not (repo / "hang.pids").is_file() and starter.poll() is None and time.monotonic() < deadline:
        time.sleep(0.1)
    assert (repo / "hang.pids").is_file(), f"the stage never started (starter exit {starter.poll()})"
    stage_pid, group = map(int, (repo / "hang.pids").read_text().split())

    starter.send_signal(signal.SIGKILL)
    starter.wait()
    assert _gone(lambda: _exists(os.kill, stage_pid), within_s=10), "the stage outlived the SIGKILLed retrain"
    assert _gone(lambda: _exists(os.killpg, group), within_s=10), "DVC's process group outlived the retrain"

    # DVC's rwlock still names the dead DVC's pid for hang.out; a live one would make this `... is busy`.
    (repo / "hang.please").unlink()
    assert Dvc(repo).repro("hang", echo=io.BytesIO()).status is StageStatus.RAN
    assert (repo / "hang.out").read_text() == "done"


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc")
def test_a_stage_that_ends_normally_leaves_no_watchdog_behind(repo):
    before = _children()
    assert Dvc(repo).repro("talk", echo=io.BytesIO()).status is StageStatus.RAN
    assert _children() == before


def _children() -> set[int]:
    """Pids of this process's live children (from /proc: Linux)."""
    me, out = os.getpid(), set()
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                stat = open(f"/proc/{entry}/stat").read()
            except OSError:
                continue
            fields = stat.rsplit(")", 1)[1].split()
            if int(fields[1]) == me and fields[0] != "Z":
                out.add(int(entry))
    return out
