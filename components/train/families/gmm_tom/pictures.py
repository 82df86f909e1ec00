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
            at = (pad + c * (cw + pad), header + pad + r * (ch + pad))
            sheet.paste(to_image(t).resize((cw, ch), Image.BICUBIC), at)
    return sheet


def loss_curves(history: list[list]) -> Image.Image:
    """One panel per phase (their losses are on different scales): loss per step and a moving average."""
    import io

    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    phases = [p for p in ("gmm", "tom") if any(h[1] == p for h in history)]
    fig, axes = plt.subplots(1, max(1, len(phases)), figsize=(5 * max(1, len(phases)), 3.2), dpi=100, squeeze=False)
    titles = {"gmm": "GMM: L1 to the worn garment + smoothness", "tom": "TOM: L1 + mask (+ VGG/style when on)"}
    for ax, phase in zip(axes[0], phases):
        steps = [h[0] for h in history if h[1] == phase]
        values = [h[2] for h in history if h[1] == phase]
        k = max(1, len(values) // 10)
        windows = [values[max(0, i - k + 1): i + 1] for i in range(len(values))]
        avg = [sum(w) / len(w) for w in windows]
        ax.plot(steps, values, lw=0.8, alpha=0.5, label="loss")
        ax.plot(steps, avg, lw=1.6, label=f"moving average ({k})")
        ax.set_title(titles[phase], fontsize=9)
        ax.set_xlabel("step")
        ax.legend(fontsize=8)
    fig.tight_layout()
    buf = io.BytesIO()
    fig.savefig(buf, format="png")
    plt.close(fig)
    buf.seek(0)
    return Image.open(buf).convert("RGB")
