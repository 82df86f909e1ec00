"""The overlay sheet a reviewer looks at: per category, a few people with their skeleton, parsing
colours and agnostic mask side by side, so broken annotation is visible at a glance."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
from PIL import Image, ImageDraw

from components.annotate.keypoints import read_body25, render_skeleton
from components.annotate.layout import label_palette


SHEET_QUALITY = 88  # JPEG: the sheet is photos, small enough to show inline
_PALETTE = np.array(label_palette(), np.uint8).reshape(-1, 3)
# The agnostic tile's tint, (0.4 * value + 0.6 * tint colour) per channel, as a table of the 256 values a
# channel can hold: the same bytes as the float sum, without float copies of the masked pixels.
_MASK_TINT = (0.4 * np.arange(256)[None, :] + 0.6 * np.array([255, 0, 128])[:, None]).astype(np.uint8)


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
        # Blended only where a label is set: the same float64 sum per pixel as over the whole frame, a quarter
        # of the work on a typical parse.
        labelled = labels > 0
        blend = person.copy()
        blend[labelled] = (0.45 * person[labelled] + 0.55 * _PALETTE[labels[labelled]]).astype(np.uint8)
        tiles.append(blend)
    else:
        tiles.append(np.zeros_like(person))
    mask = _load(dataset_dir / row["agnostic_mask_path"], mode="L") > 127
    agn = person.copy()
    agn[mask] = _MASK_TINT[np.arange(3), agn[mask]]
    tiles.append(agn)
    return np.concatenate(tiles, axis=1)


SHEET_COLUMNS = ("person_path", "keypoints_path", "parse_path", "agnostic_mask_path")  # the files a sheet shows


def sheet_rows(manifest: pd.DataFrame, category: str, max_samples: int) -> pd.DataFrame:
    """The samples `category`'s sheet shows: its first max_samples ok rows."""
    return manifest[(manifest["status"] == "ok") & (manifest["category"] == category)].head(max_samples)


def overlay_sheet(dataset_dir: Path, manifest: pd.DataFrame, category: str, max_samples: int) -> Image.Image | None:
    """The sheet for `category` (up to max_samples ok samples), or None when it has no ok sample."""
    rows = sheet_rows(manifest, category, max_samples)
    if rows.empty:
        return None
    strips = [overlay_row(dataset_dir, r) for _, r in rows.iterrows()]
    sheet = Image.fromarray(np.concatenate(strips, axis=0))
    draw = ImageDraw.Draw(sheet)
    draw.text((4, 4), f"{category}: image | BODY_25 | parse (LIP) | agnostic mask", fill=(255, 0, 0))
    return sheet
