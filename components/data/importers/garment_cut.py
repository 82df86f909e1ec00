"""Cut a garment image out of a photo of someone wearing it, using the dataset's clothing mask.

What a mask may encode (the rule is `garment_region`, the one place it is decided):

- binary: background 0 and one other value (or a greyscale map whose pixels sit near 0 and 255, as a JPEG-saved
  binary mask does): every foreground pixel is the garment. A binary mask cannot tell a top from the trousers
  under it, so its region is the whole clothing the mask marks.
- multi-label: a label map (greyscale values, palette indices, or RGB colours packed as 0xRRGGBB) where each
  garment class is one label. The garment of a category is the union of that category's label set
  (`DEEPFASHION_LABELS`, the DeepFashion-MultiModal parsing ids: 1 top, 2 outer, 3 skirt, 4 dress, 5 pants,
  6 leggings, 21 rompers; other ids such as hair, skin or shoes are never garment). The assumption, unverified
  offline, is that `SaffalPoosh/deepFashion-with-masks` stores that parsing as its `mask`; another encoding is
  named per source with `hf_mask_labels` (ints, or "#rrggbb" colours).

The cut keeps the photo's pixels inside the region on a white background, cropped tight to the region; the
region itself, cropped alike, is the garment's cloth mask (written beside it by import, read by annotate).
"""

from __future__ import annotations

import io
from dataclasses import dataclass

import numpy as np
from PIL import Image

from components.errors import Quarantine

# DeepFashion-MultiModal human-parsing ids that make up each garment category.
DEEPFASHION_LABELS: dict[str, tuple[int, ...]] = {
    "upper_body": (1, 2),  # top, outer
    "lower_body": (3, 5, 6),  # skirt, pants, leggings
    "dresses": (4, 21),  # dress, rompers
}
MIN_REGION_FRACTION = 0.002  # of the photo: below this a mask marks specks, not a garment
MAX_REGION_FRACTION = 0.95  # above this the mask marks the whole photo, not a garment
SPECK_FRACTION = 0.05  # connected pieces smaller than this share of the largest one are dropped
CROP_MARGIN = 4  # pixels of white kept around the tight crop
BINARY_EXTREMES = 0.97  # share of pixels within 24 of 0 or 255 for a greyscale map to count as binary
WHITE = (255, 255, 255)


@dataclass(frozen=True)
class LabelMap:
    """A mask as integer labels, and whether it is a binary mask (one foreground value) or a multi-label map."""

    labels: np.ndarray  # 2-D int64
    binary: bool


def parse_label(value: int | str) -> int:
    """A label id as given in params: an int, or a colour '#rrggbb' packed as 0xRRGGBB."""
    if isinstance(value, str):
        text = value.strip().lstrip("#")
        if len(text) != 6:
            raise ValueError(f"mask label {value!r}: expected an integer or a colour '#rrggbb'")
        return int(text, 16)
    return int(value)


def label_map(mask: Image.Image) -> LabelMap:
    """`mask` as integer labels: palette indices, grey values, or RGB colours packed as 0xRRGGBB."""
    if mask.mode == "P":
        labels = np.asarray(mask, dtype=np.int64)
    elif mask.mode in ("1", "L", "I", "I;16", "I;16B", "I;16L", "F"):
        labels = np.asarray(mask).astype(np.int64)
    else:
        rgb = np.asarray(mask.convert("RGB"), dtype=np.int64)
        if np.array_equal(rgb[..., 0], rgb[..., 1]) and np.array_equal(rgb[..., 0], rgb[..., 2]):
            labels = rgb[..., 0]
        else:
            labels = (rgb[..., 0] << 16) | (rgb[..., 1] << 8) | rgb[..., 2]
    values = _values(labels)
    if len(values) == 1 or (len(values) == 2 and values[0] == 0):
        return LabelMap(labels != 0, True)
    grey = labels.max() <= 255
    if grey and len(values) > 32:
        near = np.count_nonzero((labels <= 24) | (labels >= 231)) / labels.size
        if near >= BINARY_EXTREMES:  # a binary mask saved lossily: threshold it
            return LabelMap(labels >= 128, True)
    return LabelMap(labels, False)


def _values(labels: np.ndarray) -> np.ndarray:
    """The distinct values of a label map, sorted (a histogram for small labels: far faster than a sort)."""
    top = int(labels.max(initial=0))
    if labels.min(initial=0) >= 0 and top < 1 << 16:
        return np.flatnonzero(np.bincount(labels.ravel(), minlength=top + 1))
    return np.unique(labels)


def _members(values: np.ndarray, keep) -> np.ndarray:  # noqa: ANN001 - an iterable of ints
    """`values` is in `keep`, elementwise, by table lookup when the values are small non-negative ints."""
    top = int(values.max(initial=0))
    if values.min(initial=0) >= 0 and top < 1 << 16:
        table = np.zeros(top + 1, bool)
        table[[k for k in keep if 0 <= k <= top]] = True
        return table[values]
    return np.isin(values, list(keep))


def garment_region(mask: LabelMap, labels: tuple[int, ...]) -> np.ndarray:
    """The garment's pixels: every foreground pixel of a binary mask, else the pixels carrying one of `labels`."""
    region = mask.labels.astype(bool) if mask.binary else _members(mask.labels, labels)
    return _drop_specks(region)


def _drop_specks(region: np.ndarray) -> np.ndarray:
    """`region` without connected pieces far smaller than its largest one (stray labels along seams)."""
    from scipy import ndimage

    pieces, count = ndimage.label(region)
    if count <= 1:
        return region
    sizes = np.bincount(pieces.ravel())
    sizes[0] = 0
    return (sizes >= SPECK_FRACTION * sizes.max())[pieces]


def decode_mask(data: bytes | None, column: str) -> LabelMap:
    """A mask cell's bytes as a LabelMap; an absent or undecodable mask is a quarantine naming the column."""
    if not data:
        raise Quarantine(f"mask column {column!r} is empty")
    try:
        img = Image.open(io.BytesIO(data))
        img.load()
    except Exception as exc:  # noqa: BLE001 - any decoder failure is a property of the cell
        raise Quarantine(f"mask column {column!r} does not decode: {exc}") from None
    return label_map(img)


def _label_list(labels) -> str:  # noqa: ANN001 - an iterable of ints
    """Labels as params name them: ints, or '#rrggbb' for colours packed as 0xRRGGBB."""
    return "[" + ", ".join(str(v) if v < 256 else f"#{v:06x}" for v in labels) + "]"


def checked_region(mask: LabelMap, labels: tuple[int, ...], category: str, column: str) -> np.ndarray:
    """`garment_region` for `category`, or Quarantine naming the mask when it marks no usable garment."""
    region = garment_region(mask, labels)
    if not region.any():
        if mask.binary:
            raise Quarantine(f"mask column {column!r} is empty (no foreground pixels)")
        present = _label_list(int(v) for v in _values(mask.labels)[:12])
        raise Quarantine(
            f"mask column {column!r} has no {category} pixels (labels {_label_list(labels)}; labels present: {present})"
        )
    if region.mean() < MIN_REGION_FRACTION:
        raise Quarantine(
            f"mask column {column!r} marks too little garment ({region.mean():.2%} of the image, "
            f"< {MIN_REGION_FRACTION:.1%})"
        )
    if region.mean() > MAX_REGION_FRACTION:
        raise Quarantine(f"mask column {column!r} covers the whole image ({region.mean():.0%}), not a garment")
    return region


def fit_region(region: np.ndarray, size: tuple[int, int], column: str) -> np.ndarray:
    """`region` at the photo's `size` (w, h): resized nearest when only the scale differs, else Quarantine."""
    height, width = region.shape
    if (width, height) == size:
        return region
    if abs(width / height - size[0] / size[1]) > 0.02:
        raise Quarantine(f"mask column {column!r} is {width}x{height}, the photo {size[0]}x{size[1]}")
    resized = Image.fromarray(region.astype(np.uint8) * 255).resize(size, Image.NEAREST)
    return np.asarray(resized) > 127


def _cut_box(region: np.ndarray) -> tuple[int, int, int, int]:
    """(top, bottom, left, right) of the tight crop around `region`, CROP_MARGIN pixels wider on each side."""
    rows, cols = np.flatnonzero(region.any(axis=1)), np.flatnonzero(region.any(axis=0))
    top, bottom = max(rows[0] - CROP_MARGIN, 0), min(rows[-1] + CROP_MARGIN + 1, region.shape[0])
    left, right = max(cols[0] - CROP_MARGIN, 0), min(cols[-1] + CROP_MARGIN + 1, region.shape[1])
    return int(top), int(bottom), int(left), int(right)


def cut_garment(photo: Image.Image, region: np.ndarray) -> Image.Image:
    """The photo's pixels inside `region` on white, cropped tight (plus CROP_MARGIN) to the region."""
    top, bottom, left, right = _cut_box(region)
    pixels = np.asarray(photo.convert("RGB"))[top:bottom, left:right].copy()
    pixels[~region[top:bottom, left:right]] = WHITE
    return Image.fromarray(pixels, "RGB")


def cut_cloth_mask(region: np.ndarray) -> Image.Image:
    """The cloth mask of `cut_garment(photo, region)`: one channel, 255 on the garment, 0 elsewhere, same crop."""
    top, bottom, left, right = _cut_box(region)
    return Image.fromarray(region[top:bottom, left:right].astype(np.uint8) * 255, "L")
