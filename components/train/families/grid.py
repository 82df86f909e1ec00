"""The baselines' validation grid: garment | agnostic person | result | ground truth, per category."""

from __future__ import annotations

from collections.abc import Callable

import torch
from PIL import Image

from components.train.canvas import grid
from components.train.families.representation import PersonInputs, tensor_image


def pick_per_category(items: list[PersonInputs], per_category: int) -> list[PersonInputs]:
    """The first `per_category` inputs of each category, in order."""
    taken: dict[str, int] = {}
    out = []
    for it in items:
        if taken.get(it.category, 0) < per_category:
            taken[it.category] = taken.get(it.category, 0) + 1
            out.append(it)
    return out


def validation_grid(items: list[PersonInputs], predict: Callable[[list[PersonInputs]], torch.Tensor],
                    extra: Callable[[list[PersonInputs]], list[list[Image.Image]]] | None = None
                    ) -> Image.Image | None:
    """One row per input: garment, agnostic person, generated, ground truth (+ `extra` columns, e.g. the warp)."""
    if not items:
        return None
    results = predict(items)
    more = extra(items) if extra else [[] for _ in items]
    rows = [[tensor_image(it.garment), tensor_image(it.agnostic), tensor_image(out), tensor_image(it.target), *x]
            for it, out, x in zip(items, results, more)]
    w, h = items[0].size
    scale = max(1, 128 // h)
    return grid(rows, (w * scale, h * scale))
