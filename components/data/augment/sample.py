"""One sample's arrays: read from an annotated dataset, augmented as a pair, written in the same layout."""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from pathlib import Path

import numpy as np
from PIL import Image

from components.data.augment.mirror import (
    ATR_FLIP,
    BODY25_FLIP,
    DENSEPOSE_FLIP,
    LIP_FLIP,
    swap_keypoints,
    swap_labels,
)
from components.data.augment.transforms import (
    describe,
    garment_pipeline,
    person_pipeline,
    photometric_pipeline,
)
from components.data.params import AugmentParams

# manifest column -> SampleArrays field, for the maps that may be present
MAP_COLUMNS = {
    "agnostic_path": "agnostic",
    "person_mask_path": "person_mask",
    "agnostic_mask_path": "agnostic_mask",
    "parse_path": "parse",
    "parse_atr_path": "parse_atr",
    "densepose_iuv_path": "densepose",  # the IUV dump carries part ids; image-densepose is re-rendered from it
    "cloth_mask_path": "cloth_mask",
}
LABEL_MAPS = ("parse", "parse_atr")
BINARY_MASKS = ("person_mask", "agnostic_mask", "cloth_mask")


@dataclass
class SampleArrays:
    """A sample as arrays: RGB uint8 images, bool masks, uint8 label maps, BODY_25 keypoints (25x3)."""

    person: np.ndarray
    garment: np.ndarray
    keypoints: np.ndarray | None = None
    maps: dict[str, np.ndarray] = field(default_factory=dict)  # agnostic, masks, parse, parse_atr, densepose


def load_sample(row: dict, root: Path) -> SampleArrays:
    """Read the files a manifest row names (paths relative to `root`)."""
    from components.annotate.keypoints import read_body25

    def pixels(rel: str, mode: str | None) -> np.ndarray:
        # convert() copies the whole image even when it is in `mode` already (the layout's files are).
        with Image.open(root / rel) as img:
            return np.asarray(img if mode is None or img.mode == mode else img.convert(mode))

    sample = SampleArrays(person=pixels(row["person_path"], "RGB"), garment=pixels(row["garment_path"], "RGB"))
    if row.get("keypoints_path"):
        sample.keypoints = read_body25(root / row["keypoints_path"])
    for column, name in MAP_COLUMNS.items():
        rel = row.get(column)
        if not rel:
            continue
        if name in ("agnostic", "densepose"):
            sample.maps[name] = pixels(rel, "RGB")
        elif name in LABEL_MAPS:
            sample.maps[name] = pixels(rel, None)  # palette PNG: pixel values are label ids
        else:
            sample.maps[name] = pixels(rel, "L") > 127
    return sample


def augment_sample(sample: SampleArrays, params: AugmentParams, seed: int) -> tuple[SampleArrays, dict]:
    """One variant of `sample` and the JSON-ready description of what was done to it."""
    rng = np.random.default_rng(seed)
    flip = bool(params.garment_flip and rng.random() < params.flip_p)
    maps = dict(sample.maps)
    cloth_mask = maps.pop("cloth_mask", None)

    colour = photometric_pipeline(params, seed + 1)(
        image=sample.person, garment=sample.garment, **({"agnostic": maps["agnostic"]} if "agnostic" in maps else {})
    )
    person_in = {"image": colour["image"]}
    if "agnostic" in maps:
        person_in["agnostic"] = colour["agnostic"]
    for name, arr in maps.items():
        if name != "agnostic":
            person_in[name] = arr.astype(np.uint8) if arr.dtype == bool else arr
    kp = sample.keypoints if sample.keypoints is not None else np.zeros((0, 3), np.float32)
    person_in["keypoints"] = kp[:, :2].astype(np.float32)
    moved = person_pipeline(params, flip, seed + 2, [m for m in person_in if m in maps])(**person_in)

    garment_in = {"image": colour["garment"]}
    if cloth_mask is not None:
        garment_in["cloth_mask"] = cloth_mask.astype(np.uint8)
    garment_out = garment_pipeline(params, flip, seed + 3)(**garment_in)

    out = replace(sample, person=moved["image"], garment=garment_out["image"], maps={})
    h, w = out.person.shape[:2]
    if sample.keypoints is not None:
        out.keypoints = _moved_keypoints(sample.keypoints, np.asarray(moved["keypoints"]), w, h, flip)
    for name in maps:
        arr = moved[name]
        if name in BINARY_MASKS:
            arr = arr.astype(bool)
        elif flip and name in LABEL_MAPS:
            arr = swap_labels(arr, LIP_FLIP if name == "parse" else ATR_FLIP)
        elif flip and name == "densepose":
            arr = arr.copy()
            arr[..., 0] = swap_labels(arr[..., 0], DENSEPOSE_FLIP)
        out.maps[name] = arr
    if cloth_mask is not None:
        out.maps["cloth_mask"] = garment_out["cloth_mask"].astype(bool)
    how = {
        "seed": seed,
        "flip": flip,
        "photometric": describe(colour["applied_transforms"]),
        "person": describe([t for t in moved["applied_transforms"] if t[0] != "HorizontalFlip"]),
        "garment": describe([t for t in garment_out["applied_transforms"] if t[0] != "HorizontalFlip"]),
    }
    return out, how


def _moved_keypoints(original: np.ndarray, moved_xy: np.ndarray, w: int, h: int, flip: bool) -> np.ndarray:
    """BODY_25 after the transform: missing points stay missing, points that left the frame become missing."""
    out = np.zeros_like(original, dtype=np.float32)
    present = original[:, 2] > 0
    inside = (moved_xy[:, 0] >= 0) & (moved_xy[:, 0] <= w - 1) & (moved_xy[:, 1] >= 0) & (moved_xy[:, 1] <= h - 1)
    keep = present & inside
    out[keep, :2] = moved_xy[keep]
    out[keep, 2] = original[keep, 2]
    return swap_keypoints(out, BODY25_FLIP) if flip else out
