"""One `dvc repro --single-item [--force] S1 S2 ...` process for consecutive stages, each stage's part told apart.

A retrain used to start one DVC process per stage, paying DVC's start (about 0.45 s) each time; one process for
the chain pays it once, and can start before the retrain's Prefect and MLflow are up. DVC runs `--single-item`
targets in the order given and says where each stage begins ("Running stage 'x':", "Stage 'x' didn't change,
skipping", "Stage 'x' is cached - skipping run, checking out outputs"); a stage's part of the output ends where
the next stage's begins, or where the process ends. Each part goes to the stage's own log file as it arrives,
and its lines wait in a queue for whoever takes that stage's outcome (a Prefect task logs them in its own
thread). The raw bytes go to the terminal as they come (progress bars keep their carriage returns).
"""

from __future__ import annotations

import os
import queue
import re
import subprocess
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

from components.stage.dvc import (
    DvcFailed,
    GroupGuard,
    LineSplitter,
    ReproResult,
    StageStatus,
    error_lines,
    repro_status,
    stage_exit_code,
    stop_process_group,
)

_HEADER = re.compile(r"^(?:Running stage '(?P<ran>[^']+)':"
                     r"|Stage '(?P<other>[^']+)' (?P<what>didn't change, skipping|is cached - skipping run))")


class NotReached(Exception):
    """The chain's process ended before it reached the stage (an earlier stage failed or it was stopped)."""


@dataclass(frozen=True)
class _Outcome:
    status: StageStatus | None  # None: the stage failed (DVC or the stage's command exited non-zero)
    seconds: float
    lines: tuple[str, ...]
    code: int | None = None


def header(line: str) -> tuple[str, StageStatus] | None:
    """(stage, what DVC does with it) when `line` is DVC's announcement of a stage, else None."""
    match = _HEADER.match(line)
    if match is None:
        return None
    if match["ran"]:
        return match["ran"], StageStatus.RAN
    return match["other"], StageStatus.SKIPPED if match["what"].startswith("didn't") else StageStatus.RESTORED


class StageChain:
    """One DVC process reproducing `stages` in order; `result(stage)` waits for that stage's part of it.

    Started by `Dvc.start_chain`, which builds the command (`cmd`) and the environment."""

    def __init__(self, cmd: list[str], root: Path, stages: list[str], *, force: bool, env: dict[str, str],
                 logs: dict[str, Path] | None = None, echo: BinaryIO | None = None) -> None:
        if not stages:
            raise ValueError("a stage chain needs at least one stage")
        self.root = Path(root)
        self.stages = list(stages)
        self.force = force
        self._logs = logs or {}
        self._echo = echo
        self._queues: dict[str, queue.Queue] = {s: queue.Queue() for s in self.stages}
        self._taken: set[str] = set()
        self._current = 0  # index of the stage whose part the output is in
        self._status: StageStatus | None = None  # what DVC announced for the current stage
        self._lines: list[str] = []
        self._log = None
        self._stage_started = time.monotonic()
        self._ended = threading.Event()
        self._open_log(self.stages[0])
        # Its own process group: stopping the chain reaches DVC and the command DVC started (a terminated DVC
        # leaves its children running otherwise); if this process dies without a word (SIGKILL, the OOM killer),
        # the guard's watchdog stops that group, so no stage runs on unowned, holding its outputs and DVC's lock.
        self.process = subprocess.Popen(cmd, cwd=self.root, env=env, stdout=subprocess.PIPE,
                                        stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                                        start_new_session=os.name == "posix")
        self._guard = GroupGuard(self.process.pid)
        self._reader = threading.Thread(target=self._read, name=f"dvc-repro-{self.stages[0]}", daemon=True)
        self._reader.start()

    # -- the consumer's side -------------------------------------------------------------------------------------

    def can_take(self, stage: str) -> bool:
        """True when `stage` is this chain's, its outcome not taken yet, and the process may still reach it."""
        if stage not in self._queues or stage in self._taken:
            return False
        return not self._ended.is_set() or self.stages.index(stage) <= self._current

    def result(self, stage: str, on_line: Callable[[str], None] | None = None) -> ReproResult:
        """Wait for `stage`'s part to end, handing each of its lines to `on_line` in this thread as it comes.

        Raises DvcFailed with the stage's own message when it failed, NotReached when the process ended before
        it. Interrupted or terminated while waiting, it stops the process before it re-raises."""
        if stage not in self._queues:
            raise ValueError(f"stage {stage!r} is not in this chain ({self.stages})")
        self._taken.add(stage)
        pending = self._queues[stage]
        try:
            while True:
                try:
                    item = pending.get(timeout=0.2)  # a timeout keeps the wait open to signals
                except queue.Empty:
                    continue
                if isinstance(item, _Outcome):
                    break
                if on_line is not None and item.strip():
                    on_line(item)
        except BaseException:  # interrupted or terminated: the stages must not run on without us
            self.stop()
            raise
        return self._finish(stage, item)

    def _finish(self, stage: str, outcome: _Outcome) -> ReproResult:
        log_path = self._logs.get(stage)
        if outcome.status is None and outcome.code is None and not outcome.lines:
            raise NotReached(stage)
        if outcome.status is None:
            output = "\n".join(outcome.lines)
            raise DvcFailed(f"stage '{stage}'", error_lines(output), stage_exit=stage_exit_code(output),
                            log_path=log_path)
        last = next((ln for ln in reversed(outcome.lines) if ln.strip()), "")
        return ReproResult(stage, outcome.status, outcome.seconds, log_path, last)

    def wait(self) -> int:
        """Wait for the process to end; its exit code."""
        self._ended.wait()
        return self.process.returncode

    def stop(self) -> str | None:
        """Stop the process group (SIGTERM, then SIGKILL) and wait for the output to be read; the stage it was
        running when nobody was waiting for that stage's outcome (None when it had ended, or someone was)."""
        interrupted = None
        if self.process.poll() is None:
            current = self.stages[self._current]
            interrupted = current if current not in self._taken else None
            stop_process_group(self.process)
        self._ended.wait(timeout=30)
        return interrupted

    # -- the reader thread ---------------------------------------------------------------------------------------

    def _open_log(self, stage: str) -> None:
        path = self._logs.get(stage)
        if path is not None:
            path.parent.mkdir(parents=True, exist_ok=True)
            self._log = path.open("w", encoding="utf-8")

    def _close_log(self) -> None:
        if self._log is not None:
            self._log.close()
            self._log = None

    def _line(self, line: str) -> None:
        announced = header(line)
        if announced is not None:
            name, status = announced
            nxt = self._current + 1
            if nxt < len(self.stages) and name == self.stages[nxt]:
                self._end_part(True, None)  # the next stage begins: the current one is done
                self._current = nxt
                self._stage_started = time.monotonic()
                self._open_log(name)
            if name == self.stages[self._current] and self._status is None:
                self._status = status
        self._lines.append(line)
        if self._log is not None:
            self._log.write(line + "\n")
            self._log.flush()
        self._queues[self.stages[self._current]].put(line)

    def _end_part(self, ok: bool, code: int | None) -> None:
        stage = self.stages[self._current]
        self._close_log()
        status = (self._status or repro_status(stage, self._lines)) if ok else None
        self._queues[stage].put(_Outcome(status, time.monotonic() - self._stage_started, tuple(self._lines), code))
        self._lines = []
        self._status = None

    def _read(self) -> None:
        splitter = LineSplitter(self._line)
        stdout = self.process.stdout
        assert stdout is not None
        try:
            while chunk := stdout.read1(65536):
                if self._echo is not None:
                    try:
                        self._echo.write(chunk)
                        self._echo.flush()
                    except (OSError, ValueError):
                        self._echo = None  # the terminal went away; the logs and the queues still get it all
                splitter.feed(chunk.decode("utf-8", errors="replace"))
            splitter.close()
        finally:
            code = self.process.wait()
            self._guard.release()
            self._end_part(code == 0, code)
            for stage in self.stages[self._current + 1:]:  # never reached
                self._queues[stage].put(_Outcome(None, 0.0, ()))
            self._ended.set()

