"""What an annotate run reports: the engine's counts, and the stage's result (its manifest, counts and sheets).

Apart from the engine and the manifest code, so a whole-run restore (whole_run.py) can report without them.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from components.manifest.names import MANIFEST_FILENAME

if TYPE_CHECKING:
    import pandas as pd


@dataclass
class EngineReport:
    """Counts for one engine run."""

    total: int = 0
    done: int = 0
    cached: int = 0
    quarantined: int = 0
    model_calls: int = 0
    reasons: dict[str, int] = field(default_factory=dict)
    retried_shards: int = 0  # shards run again because the worker running them died (executor: ray)
    shared_hits: int = 0  # samples a Ray worker found in the shared cache instead of annotating (executor: ray)

    def summary(self) -> str:
        """One line plus one per quarantine reason."""
        head = (f"annotated {self.total} samples: {self.done} new, {self.cached} cached, "
                f"{self.quarantined} quarantined, {self.model_calls} model calls")
        if self.shared_hits:
            head += f", {self.shared_hits} of the new found by the Ray workers in the shared cache"
        if self.retried_shards:
            head += f", {self.retried_shards} shards retried after a worker died"
        return "\n".join([head] + [f"  quarantined x{n}: {r}" for r, n in sorted(self.reasons.items(), key=lambda x: -x[1])])

    def as_cached(self) -> "EngineReport":
        """These counts as a re-run that finds every sample cached reports them: nothing new, no model call."""
        return EngineReport(total=self.total, cached=self.total, quarantined=self.quarantined,
                            reasons=dict(self.reasons))


@dataclass
class AnnotateResult:
    """The engine's counts, the output folder, the overlay sheets written (category -> path) and what the run
    read (input path -> sha256, None for a file it found missing): a whole-run record's inputs."""

    report: EngineReport
    out_dir: Path
    sheets: dict[str, Path] = field(default_factory=dict)
    inputs: dict[str, str | None] = field(default_factory=dict)
    written: pd.DataFrame | None = field(default=None, repr=False)

    @property
    def manifest(self) -> pd.DataFrame:
        """The manifest as written (read from `out_dir` after a whole-run restore, which does not load it)."""
        if self.written is None:
            from components.manifest.schema import read_manifest

            self.written = read_manifest(self.out_dir)
        return self.written

    def summary(self) -> str:
        """The engine's counts, the manifest's path and one line per overlay sheet."""
        lines = [self.report.summary(), f"manifest: {self.out_dir / MANIFEST_FILENAME}"]
        lines += [f"overlay {category}: {path}" for category, path in self.sheets.items()]
        return "\n".join(lines)
