"""A stand-in for `SaffalPoosh/deepFashion-with-masks`: its published columns, written with `datasets` to Parquet.

Photos are the real photographs of the `real_photos` fixture; masks are derived from each photo (an Otsu
foreground split into DeepFashion-MultiModal parsing labels: top above the waist line, pants below, or dress).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PIL import Image

from tests.data.images import jpeg_bytes, png_bytes

SIZE = (192, 256)
TOP, PANTS, DRESS, SKIN = 1, 5, 4, 15


@dataclass
class Row:
    """One stand-in row: which photo, how it is turned, and what the columns say."""

    photo: str
    pid: str
    pose: str
    cloth_type: str
    caption: str = "The person wears a garment."
    gender: str = "WOMEN"
    mask: str = "parse"  # parse | dress | binary | empty
    mirror: bool = False
    turn: float = 0.0  # degrees, to make distinct photos of one source photograph


def derived_labels(photo: Image.Image, kind: str) -> np.ndarray:
    """A parsing label map derived from the photo: its Otsu foreground (opened, holes filled, pieces of at
    least 1% of the photo), labelled by kind and height."""
    from scipy import ndimage
    from skimage.filters import threshold_otsu

    grey = np.asarray(photo.convert("L"), dtype=np.float64)
    fg = grey > threshold_otsu(grey)
    if fg.mean() > 0.6:  # a light background: the person is the dark side
        fg = ~fg
    fg = ndimage.binary_fill_holes(ndimage.binary_opening(fg, iterations=2))
    pieces, count = ndimage.label(fg)
    sizes = np.bincount(pieces.ravel())
    fg = np.isin(pieces, np.flatnonzero(sizes >= 0.01 * fg.size)) & fg
    labels = np.zeros(grey.shape, np.uint8)
    if kind == "empty":
        return labels
    waist = int(grey.shape[0] * 0.55)
    if kind == "dress":
        labels[fg] = DRESS
    elif kind == "binary":
        labels[fg] = 255
    else:
        labels[:waist][fg[:waist]] = TOP
        labels[waist:][fg[waist:]] = PANTS
        labels[:12][fg[:12]] = SKIN  # a strip of another label that no garment may take
    return labels


def photo_for(real_photos, row: Row) -> Image.Image:
    img = real_photos[row.photo].resize(SIZE)
    img = img.rotate(row.turn, fillcolor=(255, 255, 255)) if row.turn else img
    return img.transpose(Image.FLIP_LEFT_RIGHT) if row.mirror else img


def write_standin(path: Path, real_photos, rows: list[Row], row_group_size: int = 4) -> Path:
    """Write `rows` as one Parquet shard with the published columns and features; returns `path`."""
    import datasets

    images, masks, overlays = [], [], []
    for row in rows:
        photo = photo_for(real_photos, row)
        labels = derived_labels(photo, row.mask)
        images.append({"bytes": jpeg_bytes(photo), "path": None})
        masks.append({"bytes": png_bytes(Image.fromarray(labels, "L")), "path": None})
        overlay = Image.blend(photo, Image.fromarray(labels * 10, "L").convert("RGB"), 0.5)
        overlays.append({"bytes": jpeg_bytes(overlay), "path": None})
    data = {
        "images": images,
        "mask": masks,
        "mask_overlay": overlays,
        "gender": [r.gender for r in rows],
        "pose": [r.pose for r in rows],
        "cloth_type": [r.cloth_type for r in rows],
        "pid": [r.pid for r in rows],
        "caption": [r.caption for r in rows],
    }
    features = datasets.Features({
        "images": datasets.Image(), "mask": datasets.Image(), "mask_overlay": datasets.Image(),
        **{k: datasets.Value("string") for k in ("gender", "pose", "cloth_type", "pid", "caption")},
    })
    path.parent.mkdir(parents=True, exist_ok=True)
    datasets.Dataset.from_dict(data, features=features).to_parquet(str(path), batch_size=row_group_size)
    return path
