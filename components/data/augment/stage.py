"""The `augment` stage: paths.annotated plus paired variants of its train samples, into paths.augmented."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from components.data.augment.run import AugmentReport, augment_dataset
from components.manifest.schema import MANIFEST_FILENAME
from components.params import Params
from components.project import resolve


@dataclass
class AugmentResult:
    """The augmentation's counts and where its manifest went."""

    report: AugmentReport
    out_dir: Path

    def summary(self) -> str:
        """The augmentation's summary, then the manifest's path."""
        return f"{self.report.summary()}\nmanifest: {self.out_dir / MANIFEST_FILENAME}"


def run(params: Params, root: Path, src: Path | None = None, out: Path | None = None) -> AugmentResult:
    """Augment `src` (default paths.annotated) into `out` (default paths.augmented), cached in augment.cache_dir."""
    target = resolve(out or params.paths.augmented, root)
    report = augment_dataset(resolve(src or params.paths.annotated, root), target, params.augment,
                             cache_dir=resolve(params.augment.cache_dir, root), fit=params.fit)
    return AugmentResult(report, target)
