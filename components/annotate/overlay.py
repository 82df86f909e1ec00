"""The overlay sheet a reviewer looks at: per category, a few people with their skeleton, parsing
colours and agnostic mask side by side, so broken annotation is visible at a glance."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
from PIL import Image, ImageDraw

from components.annotate.keypoints import read_body25, render_skeleton
from components.annotate.layout import label_palette


def _load(path: Path, mode: str = "RGB") -> np.ndarray:
    with Image.open(path) as img:
        return np.asarray(img.convert(mode) if mode else img)


def overlay_row(dataset_dir: Path, row: pd.Series) -> np.ndarray:
    """Four tiles for one sample: person, skeleton over person, parse colours over person, agnostic image."""
    person = _load(dataset_dir / row["person_path"])
    h, w = person.shape[:2]
    skeleton = render_skeleton(read_body25(dataset_dir / row["keypoints_path"]), w, h, person)
    tiles = [person, skeleton]
    if isinstance(row.get("parse_path"), str):
        labels = _load(dataset_dir / row["parse_path"], mode=None)
        colours = np.array(label_palette(), np.uint8).reshape(-1, 3)[labels]
        blend = np.where(labels[..., None] > 0, (0.45 * person + 0.55 * colours).astype(np.uint8), person)
        tiles.append(blend)
    else:
        tiles.append(np.zeros_like(person))
    mask = _load(dataset_dir / row["agnostic_mask_path"], mode="L") > 127
    agn = person.copy()
    agn[mask] = (0.4 * agn[mask] + 0.6 * np.array([255, 0, 128])).astype(np.uint8)
    tiles.append(agn)
    return np.concatenate(tiles, axis=1)


def overlay_sheet(dataset_dir: Path, manifest: pd.DataFrame, category: str, max_samples: int) -> Image.Image | None:
    """The sheet for `category` (up to max_samples ok samples), or None when it has no ok sample."""
    rows = manifest[(manifest["status"] == "ok") & (manifest["category"] == category)].head(max_samples)
    if rows.empty:
        return None
    strips = [overlay_row(dataset_dir, r) for _, r in rows.iterrows()]
    sheet = Image.fromarray(np.concatenate(strips, axis=0))
    draw = ImageDraw.Draw(sheet)
    draw.text((4, 4), f"{category}: image | BODY_25 | parse (LIP) | agnostic mask", fill=(255, 0, 0))
    return sheet
