"""Run one DVC stage as a subprocess and report whether it ran, was skipped, or failed (and why)."""

from __future__ import annotations

import os
import re
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

from components.errors import VtonError

# `vton` exits 2 for user-fixable errors and 3 for failed gates; neither is worth a retry.
_NOT_TRANSIENT_EXIT = re.compile(r"exited with (2|3)\b")


@dataclass
class StageResult:
    """What happened to one stage in one retrain."""

    stage: str
    status: str  # ran | skipped | failed
    seconds: float
    message: str = ""


class StageFailed(VtonError):
    """A DVC stage failed; the message is the stage's own error, not DVC's traceback."""

    exit_code = 1

    def __init__(self, stage: str, message: str, transient: bool) -> None:
        super().__init__(f"stage '{stage}' failed: {message}")
        self.stage = stage
        self.transient = transient


def is_transient_failure(task, task_run, state) -> bool:  # noqa: ANN001 - Prefect's retry_condition_fn signature
    """Retry only failures that may pass on a second try (a network blip), not bad params, bad data or a failed gate."""
    try:
        state.result()
    except StageFailed as exc:
        return exc.transient
    except Exception:  # noqa: BLE001 - unknown errors are worth one retry
        return True
    return False


def stage_environment(extra: dict[str, str]) -> dict[str, str]:
    """The environment for a stage: this interpreter's bin dir on PATH (so `vton` resolves), plus `extra`."""
    env = dict(os.environ)
    bindir = str(Path(sys.executable).parent)
    env["PATH"] = bindir + os.pathsep + env.get("PATH", "")
    env.setdefault("DVC_NO_ANALYTICS", "1")
    env.update(extra)
    return env


def stage_error_message(output: str) -> str:
    """The most useful lines of a failed stage's output: the `error:` lines `vton` printed, else the tail."""
    lines = [ln.rstrip() for ln in output.splitlines() if ln.strip()]
    picked = [ln for ln in lines if ln.startswith(("error:", "  fix:", "gate failed"))]
    if picked:
        return "\n".join(picked)
    # No message from `vton` itself: DVC's own complaint (a missing dependency, a bad dvc.yaml) says most.
    dvc_errors = [ln.removeprefix("ERROR: ") for ln in lines if ln.startswith("ERROR:")]
    if dvc_errors:
        return "\n".join(dvc_errors)
    tail = [ln for ln in lines if not ln.startswith("Traceback")]
    return "\n".join(tail[-8:]) if tail else "no output"


def run_dvc_stage(stage: str, root: Path, env: dict[str, str], force: bool = False) -> StageResult:
    """`dvc repro --single-item <stage>` in `root`; DVC skips it when its deps and params are unchanged."""
    cmd = [sys.executable, "-m", "dvc", "repro", "--single-item", stage]
    if force:
        cmd.append("--force")
    start = time.monotonic()
    proc = subprocess.run(cmd, cwd=root, env=stage_environment(env), capture_output=True, text=True)
    seconds = time.monotonic() - start
    output = proc.stdout + proc.stderr
    if proc.returncode != 0:
        transient = not _NOT_TRANSIENT_EXIT.search(output)
        raise StageFailed(stage, stage_error_message(output), transient)
    skipped = f"Stage '{stage}' didn't change" in output or "is cached - skipping run" in output
    restored = "restored from run-cache" in output.lower() or "skipping run, checking out outputs" in output
    status = "skipped" if skipped and "Running stage" not in output else ("restored" if restored else "ran")
    return StageResult(stage, status, seconds, output.strip().splitlines()[-1] if output.strip() else "")
