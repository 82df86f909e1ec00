"""The one DVC adapter: repro, status, commit, pull, push and reading dvc.yaml, with typed results.

Every caller (the retrain flow, `vton stage run`, the data preparation) goes through `Dvc`, so DVC's output is
parsed in one place. `repro` streams the stage's output live: raw bytes to the terminal (progress bars keep
their carriage returns), whole lines to a callback (a Prefect task log) and to a per-stage log file.
"""

from __future__ import annotations

import contextlib
import enum
import json
import os
import re
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, BinaryIO

import yaml

from components.errors import ConfigError, VtonError
from components.stage import watchdog
from components.yaml_text import parse_yaml

if TYPE_CHECKING:
    from components.stage.chain import StageChain

# `vton` exits 2 for user-fixable errors and 3 for failed gates; neither passes on a second try.
USER_ERROR_EXITS = (2, 3)
_STAGE_EXIT = re.compile(r"exited with (\d+)")
_ANSI = re.compile(r"\x1b\[[0-9;?]*[A-Za-z]")


class StageStatus(str, enum.Enum):
    """What DVC did with a stage."""

    RAN = "ran"
    SKIPPED = "skipped"  # deps, params and outs unchanged: nothing to do
    RESTORED = "restored"  # unchanged against the run-cache: outputs checked out, command not run
    FAILED = "failed"
    KILLED = "killed"  # the retrain was interrupted or terminated while the stage ran


class DvcFailed(VtonError):
    """A DVC command failed; the message is the stage's own error (or DVC's), never a traceback."""

    exit_code = 1

    def __init__(self, what: str, message: str, *, stage_exit: int | None = None, log_path: Path | None = None,
                 hint: str | None = None) -> None:
        where = f"\n  log: {log_path}" if log_path else ""
        super().__init__(f"{what} failed: {message}{where}", hint=hint)
        self.what = what
        self.reason = message
        self.stage_exit = stage_exit
        self.log_path = log_path
        if stage_exit in USER_ERROR_EXITS:
            self.exit_code = stage_exit

    @property
    def transient(self) -> bool:
        """True when a retry may pass: not bad params, bad data, a failed gate or a broken dvc.yaml."""
        if self.stage_exit in USER_ERROR_EXITS:
            return False
        return not any(word in self.reason for word in ("No such file", "does not exist", "is not a stage", "dvc.yaml"))


@dataclass(frozen=True)
class ReproResult:
    """One `dvc repro --single-item` of one stage."""

    stage: str
    status: StageStatus
    seconds: float
    log_path: Path | None = None
    last_line: str = ""


@dataclass(frozen=True)
class StageSpec:
    """One stage as dvc.yaml declares it (after `${...}` interpolation by DVC)."""

    name: str
    cmd: str
    deps: list[str] = field(default_factory=list)
    outs: list[str] = field(default_factory=list)
    always_changed: bool = False


def error_lines(output: str) -> str:
    """The most useful lines of a failed command's output: `vton`'s `error:`/`fix:` lines, else DVC's, else the tail."""
    lines = [ln.rstrip() for ln in _ANSI.sub("", output).splitlines() if ln.strip()]
    picked = [ln for ln in lines if ln.startswith(("error:", "  fix:", "gate failed"))]
    if picked:
        return "\n".join(picked)
    # No message from `vton` itself: DVC's own complaint (a missing dependency, a bad dvc.yaml) says most.
    dvc_errors = [ln.removeprefix("ERROR: ") for ln in lines if ln.startswith("ERROR:")]
    if dvc_errors:
        return "\n".join(dvc_errors)
    tail = [ln for ln in lines if not ln.startswith(("Traceback", "  File "))]
    return "\n".join(tail[-8:]) if tail else "no output"


def stage_exit_code(output: str) -> int | None:
    """The exit code of the stage's command that DVC reports in a failed repro's output, or None."""
    found = _STAGE_EXIT.findall(output)
    return int(found[-1]) if found else None


def repro_status(stage: str, lines: list[str]) -> StageStatus:
    """What DVC's repro output says happened to `stage` (the command succeeded)."""
    text = "\n".join(lines)
    if f"Running stage '{stage}'" in text:
        return StageStatus.RAN
    if "restored from run-cache" in text.lower() or "skipping run, checking out outputs" in text:
        return StageStatus.RESTORED
    return StageStatus.SKIPPED


class LineSplitter:
    """Bytes in, whole lines out: a `\\r` redraw (a progress bar) replaces the pending line instead of adding one."""

    def __init__(self, emit: Callable[[str], None]) -> None:
        self._emit = emit
        self._pending = ""

    def feed(self, chunk: str) -> None:
        """Take more output; emit every line it completes."""
        text = self._pending + chunk
        *done, self._pending = text.split("\n")
        for line in done:
            line = line.rsplit("\r", 1)[-1] if "\r" in line.rstrip("\r") else line.rstrip("\r")
            self._emit(_ANSI.sub("", line))

    def close(self) -> None:
        """Emit what is left (a last line without a newline)."""
        if self._pending.strip():
            self._emit(_ANSI.sub("", self._pending.rsplit("\r", 1)[-1]))
        self._pending = ""


class Dvc:
    """DVC commands in one project, run with this interpreter (so `dvc` and `vton` resolve to this environment)."""

    def __init__(self, root: Path, env: dict[str, str] | None = None) -> None:
        self.root = Path(root)
        self.env = env or {}

    def environment(self, extra: dict[str, str] | None = None) -> dict[str, str]:
        """The environment DVC and the stage commands see: this interpreter's bin dir first on PATH."""
        env = {**os.environ, **self.env, **(extra or {})}
        env["PATH"] = str(Path(sys.executable).parent) + os.pathsep + env.get("PATH", "")
        env.setdefault("PYTHONUNBUFFERED", "1")  # a stage's prints reach the terminal as they happen, not at exit
        return env

    def _run(self, args: list[str], what: str) -> str:
        # Guarded like a stage: a `dvc pull` left running by a killed retrain would hold the repo lock.
        proc = subprocess.Popen([sys.executable, "-m", "dvc", *args], cwd=self.root, env=self.environment(),
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE, stdin=subprocess.DEVNULL, text=True,
                                start_new_session=os.name == "posix")
        guard = GroupGuard(proc.pid)
        try:
            try:
                stdout, stderr = proc.communicate()
            except BaseException:
                stop_process_group(proc)
                raise
        finally:
            guard.release()
        output = (stdout + stderr).strip()
        if proc.returncode != 0:
            raise DvcFailed(what, error_lines(output), hint=f"run `dvc {' '.join(args)}` in {self.root}")
        return output

    # -- the pipeline -------------------------------------------------------------------------------------------

    def repro(self, stage: str, *, force: bool = False, log_path: Path | None = None,
              on_line: Callable[[str], None] | None = None, echo: BinaryIO | None = None,
              extra_env: dict[str, str] | None = None) -> ReproResult:
        """`dvc repro --single-item STAGE`, streaming its output; raises DvcFailed with the stage's own message."""
        chain = self.start_chain([stage], force=force, logs={stage: log_path} if log_path else None, echo=echo,
                                 extra_env=extra_env)
        return chain.result(stage, on_line)

    def start_chain(self, stages: list[str], *, force: bool = False, logs: dict[str, Path] | None = None,
                    echo: BinaryIO | None = None, extra_env: dict[str, str] | None = None) -> StageChain:
        """`dvc repro --single-item [--force] STAGES` started: one DVC process for consecutive stages, each stage's
        outcome and output taken apart (components/stage/chain.py). Raw output goes to `echo`, else the terminal."""
        from components.stage.chain import StageChain

        cmd = [sys.executable, "-m", "dvc", "repro", "--single-item", *stages, *(["--force"] if force else [])]
        return StageChain(cmd, self.root, stages, force=force, env=self.environment(extra_env), logs=logs,
                          echo=echo if echo is not None else terminal())

    def status(self, *targets: str) -> dict[str, list]:
        """`dvc status --json [TARGETS]`: stage name -> what changed (empty when everything is up to date)."""
        return _status_answer(self._run(["status", "--json", *targets], "dvc status"))

    def start_status(self, *targets: str) -> PendingStatus:
        """`dvc status --json [TARGETS]` started in the background: `.result()` waits for it and answers as `status`
        does. Nothing else may run DVC in this project until it has finished (DVC holds the project's lock)."""
        args = ["status", "--json", *targets]
        proc = subprocess.Popen([sys.executable, "-m", "dvc", *args], cwd=self.root, env=self.environment(),
                                stdout=subprocess.PIPE, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, text=True)
        return PendingStatus(proc, args, self.root)

    def commit(self, *targets: str) -> None:
        """`dvc commit --force TARGETS`: put the workspace's files for TARGETS into the cache and the lock."""
        self._run(["commit", "--force", *targets], f"caching {', '.join(targets) or 'the workspace'}")

    def pull(self, *targets: str, remote: str | None = None, what: str | None = None) -> None:
        """`dvc pull [--remote R] TARGETS`."""
        self._run(["pull", *(["--remote", remote] if remote else []), *targets], what or f"pulling {targets}")

    def push(self, *targets: str, remote: str | None = None, what: str | None = None) -> None:
        """`dvc push [--remote R] TARGETS`."""
        self._run(["push", *(["--remote", remote] if remote else []), *targets], what or f"pushing {targets}")

    # -- dvc.yaml -----------------------------------------------------------------------------------------------

    def stage_names(self) -> list[str]:
        """The stages dvc.yaml declares, in file order (no interpolation needed)."""
        return list(_read_dvc_yaml(self.root).get("stages", {}))

    def always_changed(self) -> set[str]:
        """Stages dvc.yaml marks always_changed (e.g. scrape re-checks its sites every run)."""
        stages = _read_dvc_yaml(self.root).get("stages", {})
        return {n for n, s in stages.items() if isinstance(s, dict) and s.get("always_changed")}

    def stages(self) -> dict[str, StageSpec]:
        """Every stage with its command, deps and outs as DVC resolves them (params interpolated)."""
        from dvc.repo import Repo

        out: dict[str, StageSpec] = {}
        with Repo(str(self.root)) as repo:
            for st in repo.index.stages:
                if not getattr(st, "cmd", None):
                    continue  # a .dvc file, not a pipeline stage
                out[st.name] = StageSpec(st.name, st.cmd if isinstance(st.cmd, str) else " && ".join(st.cmd),
                                         [d.def_path for d in st.deps], [o.def_path for o in st.outs],
                                         bool(st.always_changed))
        return out

    def stage_inputs(self, stage: str, sources_only: bool = False) -> list[str]:
        """The DVC-tracked paths `stage` depends on: outputs of other stages and `.dvc` files (only those if asked)."""
        from dvc.repo import Repo

        with Repo(str(self.root)) as repo:
            target = _collect(repo, stage)
            deps = [d.def_path for d in target.deps]
            tracked = [
                o.def_path
                for o in repo.index.outs
                if o.stage.addressing != target.addressing
                and (not sources_only or o.stage.addressing.endswith(".dvc"))
            ]
        return sorted({out for out in tracked for dep in deps if _overlaps(dep, out)})

    def stage_outputs(self, stage: str) -> list[str]:
        """The paths `stage` writes that DVC caches (what a push uploads)."""
        from dvc.repo import Repo

        with Repo(str(self.root)) as repo:
            return [o.def_path for o in _collect(repo, stage).outs if o.use_cache]


class GroupGuard:
    """A watchdog process (components/stage/watchdog.py) that stops process group `pgid` if this process dies
    before `release()`: the one way to clean up after a SIGKILL, which runs no handler here. No-op off POSIX."""

    def __init__(self, pgid: int) -> None:
        self._dog: subprocess.Popen | None = None
        if os.name != "posix":
            return
        # -I -S: the standard library only, no site packages to import; own session: Ctrl-C never reaches it.
        # Its stdin pipe's write end is close-on-exec, so only this process (not DVC or the stage) holds it.
        self._dog = subprocess.Popen([sys.executable, "-I", "-S", str(Path(watchdog.__file__)), str(pgid)],
                                     stdin=subprocess.PIPE, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                                     start_new_session=True)

    def release(self) -> None:
        """The group ended or was stopped here: tell the watchdog to exit without touching it."""
        if self._dog is None:
            return
        assert self._dog.stdin is not None
        with contextlib.suppress(OSError):
            self._dog.stdin.write(watchdog.RELEASE)
            self._dog.stdin.close()
        self._dog.wait()
        self._dog = None


@dataclass
class PendingStatus:
    """A `dvc status` running in the background (Dvc.start_status)."""

    process: subprocess.Popen
    args: list[str]
    root: Path
    _output: str | None = None

    def wait(self) -> None:
        """Block until DVC has finished (and released the project's lock)."""
        self.process.wait()

    def result(self) -> dict[str, list]:
        """What `Dvc.status` would have answered (asked again, the same answer); DvcFailed when DVC failed."""
        if self._output is None:
            out, _ = self.process.communicate()
            self._output = (out or "").strip()
        if self.process.returncode != 0:
            raise DvcFailed("dvc status", error_lines(self._output),
                            hint=f"run `dvc {' '.join(self.args)}` in {self.root}")
        return _status_answer(self._output)


def _status_answer(out: str) -> dict[str, list]:
    start = out.find("{")
    return json.loads(out[start:]) if start >= 0 else {}


def stop_process_group(proc: subprocess.Popen, grace_s: float = 10.0) -> None:
    """SIGTERM `proc`'s process group (just `proc` off POSIX); SIGKILL what is still alive after `grace_s`."""
    import signal

    if os.name != "posix":
        proc.terminate()
        proc.wait()
        return

    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(proc.pid, signal.SIGTERM)
    deadline = time.monotonic() + grace_s
    while time.monotonic() < deadline:
        proc.poll()  # reap DVC itself, or the group stays alive through its zombie
        if not watchdog.group_alive(proc.pid):
            break
        time.sleep(0.05)
    else:
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(proc.pid, signal.SIGKILL)
    proc.wait()


def _collect(repo, stage: str):  # noqa: ANN001, ANN202 - DVC's own types
    try:
        (target,) = repo.stage.collect(stage)
    except Exception as exc:  # noqa: BLE001 - DVC raises several kinds for an unknown stage
        raise ConfigError(f"no DVC stage named {stage!r}: {exc}", hint="see `dvc stage list`") from None
    return target


def _overlaps(a: str, b: str) -> bool:
    a, b = a.rstrip("/"), b.rstrip("/")
    return a == b or a.startswith(b + "/") or b.startswith(a + "/")


def _read_dvc_yaml(root: Path) -> dict:
    path = Path(root) / "dvc.yaml"
    if not path.is_file():
        raise ConfigError(f"{path}: no dvc.yaml", hint="run from the project root or set VTON_PROJECT_ROOT")
    try:
        return parse_yaml(path.read_text()) or {}
    except yaml.YAMLError as exc:
        raise ConfigError(f"{path}: not valid YAML: {exc}") from None


def terminal() -> BinaryIO | None:
    """Where a stage's raw output goes: this process's stdout (None when quiet)."""
    if os.environ.get("VTON_STAGE_ECHO", "1") == "0":
        return None
    try:
        sys.stdout.flush()
        return sys.stdout.buffer
    except (AttributeError, ValueError):
        return None  # stdout replaced by something without a byte buffer (e.g. pytest capture)
