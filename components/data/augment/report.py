"""What one augmentation run did, in counts: the stage's result, whether its variants were made or restored."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass
class AugmentReport:
    """Counts from one augmentation run."""

    inputs: int = 0
    augmented_parents: int = 0
    variants: int = 0
    cached: int = 0  # variants put back from the augment cache instead of being made again
    size_variants: int = 0  # of `variants`, those with the garment rescaled (fit.size_augment)
    failed: list[str] = field(default_factory=list)
    retried_shards: int = 0  # shards run again because the Ray worker making them died (executor: ray)
    shared_hits: int = 0  # variants a Ray worker found in the shared cache (executor: ray, ray.shared_cache)

    def summary(self) -> str:
        """One line for the log (plus one per failure)."""
        head = (f"augment: {self.inputs} input rows kept, {self.variants} variants of "
                f"{self.augmented_parents} train samples ({self.size_variants} resized; {self.cached} from the cache)")
        if self.shared_hits:
            head += f", {self.shared_hits} found by the Ray workers in the shared cache"
        if self.retried_shards:
            head += f", {self.retried_shards} shards retried after a worker died"
        return "\n".join([head, *[f"  not augmented: {f}" for f in self.failed]])
