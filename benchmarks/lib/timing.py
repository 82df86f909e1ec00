"""Interleaved paired timings: A and B alternate (A B, B A, ...), so load drift on a shared machine hits both.

Every figure is a median with its spread (min-max over the repeats); a ratio is the median of the per-pair
ratios, not a ratio of medians, so one noisy pair cannot move it far.
"""

from __future__ import annotations

import os
import statistics
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]


@dataclass
class Spread:
    """Median and range of repeated measurements (seconds, or any unit)."""

    values: list[float]

    @property
    def median(self) -> float:
        """The median value."""
        return statistics.median(self.values)

    def text(self, unit: str = "s", scale: float = 1.0, digits: int = 3) -> str:
        """'median unit (min-max, n=N)'."""
        lo, hi = min(self.values) * scale, max(self.values) * scale
        return f"{self.median * scale:.{digits}f} {unit} ({lo:.{digits}f}-{hi:.{digits}f}, n={len(self.values)})"


@dataclass
class Paired:
    """Interleaved timings of two ways of doing the same work."""

    a: Spread
    b: Spread
    ratios: Spread  # b / a per pair

    def text(self, name_a: str, name_b: str) -> str:
        """Three lines: each side's median and spread, then the paired ratio."""
        return (f"  {name_a}: {self.a.text()}\n  {name_b}: {self.b.text()}\n"
                f"  {name_b} / {name_a}: {self.ratios.text(unit='x', digits=2)} (median of per-pair ratios)")


def paired(run_a: Callable[[], float], run_b: Callable[[], float], repeats: int) -> Paired:
    """Time A and B `repeats` times each, alternating which goes first; each callable returns its seconds."""
    a, b = [], []
    for i in range(repeats):
        if i % 2 == 0:
            a.append(run_a())
            b.append(run_b())
        else:
            b.append(run_b())
            a.append(run_a())
    return Paired(Spread(a), Spread(b), Spread([y / x for x, y in zip(a, b)]))


def timed(fn: Callable[[], object]) -> float:
    """Seconds `fn()` takes (wall clock)."""
    t0 = time.perf_counter()
    fn()
    return time.perf_counter() - t0


def command_seconds(args: list[str], cwd: Path, env: dict[str, str] | None = None, ok: tuple[int, ...] = (0,)) -> float:
    """Wall seconds of a whole command as a user runs it (process start and imports included); raises when its
    exit code is not in `ok`. Python keeps its compiled bytecode as it does by default: a PYTHONDONTWRITEBYTECODE
    in this process's environment (some sandboxes set it) would add compiling the project's sources to every run."""
    bindir = os.path.dirname(os.path.abspath(sys.executable))  # absolute: a relative PATH entry resolves against cwd
    inherited = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
    full_env = {**inherited, "PATH": bindir + os.pathsep + os.environ.get("PATH", ""), "VTON_QUIET": "1",
                "PYTHONPATH": str(REPO) + os.pathsep + os.environ.get("PYTHONPATH", ""), **(env or {})}
    t0 = time.perf_counter()
    proc = subprocess.run(args, cwd=cwd, env=full_env, capture_output=True, text=True)
    seconds = time.perf_counter() - t0
    if proc.returncode not in ok:
        raise RuntimeError(f"{' '.join(args)} failed ({proc.returncode}):\n{proc.stdout[-2000:]}\n{proc.stderr[-2000:]}")
    return seconds


def load_line() -> str:
    """The machine's load and cores, printed beside figures so a reader can judge them."""
    one, five, _ = os.getloadavg()
    return f"machine: {os.cpu_count()} cores, load average {one:.2f} (1 min), {five:.2f} (5 min)"
