"""Validation sheets of the GMM + TOM family: one row per pair, one labelled column per stage of the try-on."""

from __future__ import annotations

import numpy as np
import torch
from PIL import Image, ImageDraw

COLUMNS = ("person (agnostic)", "garment", "warped garment", "composition mask", "result", "ground truth")


def to_image(t: torch.Tensor) -> Image.Image:
    """A (3, H, W) image in [-1, 1] or a (1, H, W) mask in [0, 1] as a PIL RGB image."""
    t = t.detach().float().cpu()
    if t.shape[0] == 1:
        arr = t[0].clamp(0, 1).numpy()
        arr = np.repeat(arr[..., None], 3, axis=2)
    else:
        arr = ((t.clamp(-1, 1) + 1) / 2).permute(1, 2, 0).numpy()
    return Image.fromarray((arr * 255 + 0.5).astype(np.uint8))


def validation_grid(batch: dict[str, torch.Tensor], out: dict[str, torch.Tensor], cell_width: int = 96,
                    pad: int = 2) -> Image.Image:
    """person | garment | warped garment | composition mask | result | ground truth, with a header row."""
    rows = [[batch["agnostic"][i], batch["garment"][i], out["warped"][i], out["composition"][i], out["result"][i],
             batch["target"][i]] for i in range(batch["target"].shape[0])]
    h, w = batch["target"].shape[-2:]
    cw, ch = cell_width, round(cell_width * h / w)
    header = 14
    sheet = Image.new("RGB", (len(COLUMNS) * (cw + pad) + pad, header + len(rows) * (ch + pad) + pad), "white")
    draw = ImageDraw.Draw(sheet)
    for c, label in enumerate(COLUMNS):
        draw.text((pad + c * (cw + pad), 1), label, fill=(0, 0, 0))
    for r, row in enumerate(rows):
        for c, t in enumerate(row):
            sheet.paste(to_image(t).resize((cw, ch), Image.BICUBIC), (pad + c * (cw + pad), header + pad + r * (ch + pad)))
    return sheet
