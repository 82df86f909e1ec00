"""Pictures for people: the review grid (person | garment | champion | challenger | ground truth) and the
worst-case gallery (the N worst pairs of a category by LPIPS or GFD)."""

from __future__ import annotations

import math
from dataclasses import dataclass

from PIL import Image, ImageDraw

from components.evaluate.pairs import EvalPair
from components.evaluate.scoring import PairScore

REVIEW_COLUMNS = ("person", "garment", "champion", "challenger", "ground truth")
_HEADER = 18
_LABEL = 14


@dataclass
class GridRow:
    """One row of a picture grid: images (None draws a grey 'n/a' cell) and a caption."""

    cells: list[Image.Image | None]
    caption: str


def placeholder(size: tuple[int, int], text: str = "n/a") -> Image.Image:
    """A grey cell with `text`, for a column with no image (e.g. no champion yet)."""
    cell = Image.new("RGB", size, (200, 200, 200))
    ImageDraw.Draw(cell).text((4, size[1] // 2 - 6), text, fill=(60, 60, 60))
    return cell


def picture_grid(columns: tuple[str, ...] | list[str], rows: list[GridRow], cell: tuple[int, int]) -> Image.Image:
    """A labelled grid: a header with the column names, then one captioned row per GridRow."""
    w, h = cell
    width = w * len(columns)
    height = _HEADER + len(rows) * (h + _LABEL)
    grid = Image.new("RGB", (width, max(height, _HEADER + 1)), "white")
    draw = ImageDraw.Draw(grid)
    for c, name in enumerate(columns):
        draw.text((c * w + 4, 3), name, fill="black")
    for r, row in enumerate(rows):
        top = _HEADER + r * (h + _LABEL)
        draw.text((4, top + 1), row.caption[: width // 6], fill=(90, 90, 90))
        for c, image in enumerate(row.cells):
            tile = placeholder(cell) if image is None else image.convert("RGB").resize(cell, Image.BICUBIC)
            grid.paste(tile, (c * w, top + _LABEL))
    return grid


def review_selection(pairs: list[EvalPair], per_category: int) -> list[EvalPair]:
    """The fixed, category-balanced review set: the first `per_category` paired pairs of each category."""
    chosen: list[EvalPair] = []
    for category in sorted({p.category for p in pairs}):
        chosen += [p for p in pairs if p.category == category and p.kind == "paired"][:per_category]
    return chosen


def worst_pairs(scores: list[PairScore], category: str, figure: str, n: int) -> list[PairScore]:
    """The `n` worst pairs of `category` by `figure` (lpips: highest; gfd: highest), worst first."""
    rated = [s for s in scores if s.category == category and getattr(s, figure) is not None]
    rated = [s for s in rated if math.isfinite(getattr(s, figure))]
    return sorted(rated, key=lambda s: getattr(s, figure), reverse=True)[:n]
