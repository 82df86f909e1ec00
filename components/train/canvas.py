"""The in-context canvas: garment panel left, person panel right, repaint mask on the person half only.

Pure image functions shared by training (cached latents) and inference (TryOnPipeline), so both see
exactly the same layout.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from PIL import Image


@dataclass(frozen=True)
class Canvas:
    """One try-on canvas: the (garment | person) image, its repaint mask (white = repaint) and the panel size."""

    image: Image.Image
    mask: Image.Image
    panel: tuple[int, int]  # (width, height) of one panel

    def masked_image(self) -> Image.Image:
        """The canvas with the repaint region greyed out (what the model is shown)."""
        arr = np.asarray(self.image, dtype=np.float32)
        keep = (np.asarray(self.mask) < 128)[..., None]
        grey = np.full_like(arr, 127.5)
        return Image.fromarray(np.where(keep, arr, grey).astype(np.uint8))


def choose_bucket(width: int, height: int, buckets: list[tuple[int, int]]) -> tuple[int, int]:
    """The panel size whose aspect ratio is closest (in log space) to `width / height`; ties go to the larger."""
    if not buckets:
        raise ValueError("no aspect buckets configured")
    target = math.log(width / height)
    return min(buckets, key=lambda b: (abs(math.log(b[0] / b[1]) - target), -b[0] * b[1]))


def binarize_mask(mask: Image.Image, threshold: int = 128) -> Image.Image:
    """An L-mode mask with 255 where `mask` >= threshold, else 0."""
    arr = np.asarray(mask.convert("L"))
    return Image.fromarray(np.where(arr >= threshold, 255, 0).astype(np.uint8))


def make_canvas(
    garment: Image.Image,
    person: Image.Image,
    agnostic_mask: Image.Image,
    panel: tuple[int, int],
    threshold: int = 128,
) -> Canvas:
    """Resize garment, person and mask to `panel` and place them side by side; the garment half is never repainted."""
    w, h = panel
    g = garment.convert("RGB").resize((w, h), Image.BICUBIC)
    p = person.convert("RGB").resize((w, h), Image.BICUBIC)
    m = binarize_mask(agnostic_mask.convert("L").resize((w, h), Image.NEAREST), threshold)
    image = Image.new("RGB", (2 * w, h))
    image.paste(g, (0, 0))
    image.paste(p, (w, 0))
    mask = Image.new("L", (2 * w, h), 0)
    mask.paste(m, (w, 0))
    return Canvas(image=image, mask=mask, panel=panel)


def size_map_canvas(region: np.ndarray, panel: tuple[int, int]) -> Image.Image:
    """The size map on the canvas, laid out like the repaint mask: `region` (bool, the person panel's expected
    garment region) resized nearest onto the person half, 255 inside; the garment half is 0."""
    w, h = panel
    person = Image.fromarray(np.asarray(region, bool).astype(np.uint8) * 255).resize((w, h), Image.NEAREST)
    out = Image.new("L", (2 * w, h), 0)
    out.paste(person, (w, 0))
    return out


def person_half(image: Image.Image) -> Image.Image:
    """The right (person) panel of a canvas-sized image."""
    w, h = image.size
    return image.crop((w // 2, 0, w, h))


def grid(rows: list[list[Image.Image]], cell: tuple[int, int], pad: int = 2) -> Image.Image:
    """Images laid out in rows of equal cells on a white sheet (for validation grids)."""
    cols = max(len(r) for r in rows)
    cw, ch = cell
    sheet = Image.new("RGB", (cols * (cw + pad) + pad, len(rows) * (ch + pad) + pad), "white")
    for r, row in enumerate(rows):
        for c, img in enumerate(row):
            sheet.paste(img.convert("RGB").resize(cell, Image.BICUBIC), (pad + c * (cw + pad), pad + r * (ch + pad)))
    return sheet
