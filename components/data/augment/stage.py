"""The `augment` stage: paths.annotated plus paired variants of its train samples, into paths.augmented."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from components.data.augment.report import AugmentReport
from components.data.augment.whole_run import look_up_run
from components.manifest.names import MANIFEST_FILENAME
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
    source, target = resolve(src or params.paths.annotated, root), resolve(out or params.paths.augmented, root)
    cache_dir = resolve(params.augment.cache_dir, root)
    lookup = look_up_run(source, target, params.augment, params.fit, cache_dir)
    if lookup.report is not None:
        return AugmentResult(lookup.report, target)
    # Only now the augmentation code and what it imports (pandas, PIL, albumentations): a cached run needs none.
    from components.data.augment.run import augment_dataset

    report = augment_dataset(source, target, params.augment, cache_dir=cache_dir, fit=params.fit, lookup=lookup)
    return AugmentResult(report, target)
