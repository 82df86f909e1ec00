"""The baselines' training data: PersonInputs of each sample, built once and kept in memory when they fit."""

from __future__ import annotations

from components.progress import progress
from components.train.families.representation import PersonInputs, collate_inputs, load_sample_inputs

MEMORY_BUDGET_BYTES = 2 << 30  # above this the inputs are rebuilt from the files for every batch


class SampleInputs:
    """Index -> PersonInputs at one size for a list of TrainSamples (cached when the whole set fits the budget)."""

    def __init__(self, samples: list, size: tuple[int, int], desc: str = "inputs") -> None:
        self.samples, self.size = samples, size
        w, h = size
        per_item = 4 * w * h * (3 + 18 + 20 + 1 + 3 + 1 + 3 + 1 + 1)
        self.cached: list[PersonInputs] | None = None
        if per_item * len(samples) <= MEMORY_BUDGET_BYTES:
            self.cached = [load_sample_inputs(s, size) for s in progress(samples, total=len(samples), desc=desc,
                                                                          unit="sample")]

    def __len__(self) -> int:
        return len(self.samples)

    def __getitem__(self, i: int) -> PersonInputs:
        return self.cached[i] if self.cached is not None else load_sample_inputs(self.samples[i], self.size)

    def batch(self, indices: list[int], device) -> dict:
        """The collated batch of `indices` on `device`."""
        out = collate_inputs([self[i] for i in indices])
        return {k: v.to(device) if hasattr(v, "to") else v for k, v in out.items()}
