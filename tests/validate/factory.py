"""A small, clean annotated dataset on disk (real files, every rule satisfied) for the gate's tests to break."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
from PIL import Image

from components.manifest.image_io import perceptual_hash, sha256_bytes
from components.manifest.schema import conform
from components.validate.params import ValidateParams

W, H = 192, 256
FRAME_AREA = float(W * H)
CLOTH_BOX = (40, 40, 152, 216)  # x0, y0, x1, y1: well inside the frame
AGNOSTIC_BOX = (50, 60, 142, 200)


def gate_params(**overrides) -> ValidateParams:
    """Thresholds that the clean dataset meets with room to spare."""
    base = {
        "completeness": {"decode_sample": -1},
        "geometry": {"min_side": 128, "person_aspect": (0.7, 0.8), "garment_aspect": (0.7, 0.8),
                     "min_keypoints": 12, "min_keypoint_confidence": 0.5},
        "distribution": {"min_samples": {"train": 3, "test": 1}, "max_category_ratio": 3.0,
                         "test_fraction": (0.1, 0.5), "max_quarantine_rate": 0.2},
    }
    for key, value in overrides.items():
        base[key] = {**base.get(key, {}), **value} if isinstance(value, dict) else value
    return ValidateParams.model_validate(base)


def smooth_image(seed: int, size: tuple[int, int] = (W, H)) -> Image.Image:
    """A distinct, smooth random RGB picture (its perceptual hash is far from any other seed's)."""
    rng = np.random.default_rng(seed)
    small = (rng.random((6, 8, 3)) * 255).astype(np.uint8)
    return Image.fromarray(small).resize(size, Image.BICUBIC)


def box_mask(box: tuple[int, int, int, int], size: tuple[int, int] = (W, H)) -> Image.Image:
    """A binary L-mode mask that is 255 inside `box`."""
    arr = np.zeros((size[1], size[0]), np.uint8)
    x0, y0, x1, y1 = box
    arr[y0:y1, x0:x1] = 255
    return Image.fromarray(arr)


def keypoints_doc(conf: float = 0.9, missing: tuple[int, ...] = ()) -> dict:
    """An OpenPose BODY_25 document with every joint at `conf` except `missing` (zeros)."""
    flat = []
    for i in range(25):
        flat += [0.0, 0.0, 0.0] if i in missing else [float(10 + i), float(20 + 5 * i), conf]
    return {"version": 1.3, "people": [{"pose_keypoints_2d": flat}]}


def save_png(img: Image.Image, path: Path) -> bytes:
    """Write `img` as PNG and return the bytes."""
    path.parent.mkdir(parents=True, exist_ok=True)
    img.save(path, format="PNG")
    return path.read_bytes()


def write_sample(root: Path, sid: str, person: Image.Image, garment: Image.Image, **row) -> dict:
    """Write one sample's files under `root` and return its manifest row (stats filled, visible mask left to validate)."""
    p_bytes = save_png(person, root / "image" / f"{sid}.png")
    g_bytes = save_png(garment, root / "cloth" / f"{sid}.png")
    save_png(box_mask(CLOTH_BOX), root / "cloth-mask" / f"{sid}.png")
    save_png(box_mask(AGNOSTIC_BOX), root / "agnostic-mask" / f"{sid}.png")
    save_png(Image.fromarray(np.full((H, W), 5, np.uint8)), root / "image-parse" / f"{sid}.png")
    (root / "openpose_json").mkdir(parents=True, exist_ok=True)
    (root / "openpose_json" / f"{sid}.json").write_text(json.dumps(keypoints_doc()))
    cx0, cy0, cx1, cy1 = CLOTH_BOX
    ax0, ay0, ax1, ay1 = AGNOSTIC_BOX
    base = {
        "sample_id": sid, "status": "ok", "source": "studio", "licence": "CC-BY-4.0",
        "source_url": f"https://example.invalid/{sid}",
        "person_path": f"image/{sid}.png", "garment_path": f"cloth/{sid}.png",
        "keypoints_path": f"openpose_json/{sid}.json", "parse_path": f"image-parse/{sid}.png",
        "agnostic_mask_path": f"agnostic-mask/{sid}.png", "cloth_mask_path": f"cloth-mask/{sid}.png",
        "person_sha256": sha256_bytes(p_bytes), "garment_sha256": sha256_bytes(g_bytes),
        "person_phash": perceptual_hash(person), "garment_phash": perceptual_hash(garment),
        "person_width": person.width, "person_height": person.height,
        "garment_width": garment.width, "garment_height": garment.height,
        "keypoint_count": 25.0, "keypoint_confidence_mean": 0.9,
        "cloth_mask_area": float((cx1 - cx0) * (cy1 - cy0)), "agnostic_mask_area": float((ax1 - ax0) * (ay1 - ay0)),
        "n_people": 1.0,
    }
    return base | row


def clean_dataset(root: Path) -> pd.DataFrame:
    """12 ok samples (3 train + 1 test per category), one augmented train copy and one quarantined row."""
    rows = []
    seed = 0
    for cat in ("upper_body", "lower_body", "dresses"):
        for k, split in enumerate(("train", "train", "train", "test")):
            seed += 2
            sid = f"{cat[:2]}{k}{split[:2]}"
            rows.append(write_sample(root, sid, smooth_image(seed), smooth_image(seed + 1), category=cat, split=split,
                                     fit_label=("tight", "fitted", "loose", "fitted")[k]))
    parent = rows[0]
    flipped = smooth_image(2).transpose(Image.FLIP_LEFT_RIGHT)
    rows.append(write_sample(root, "aug0", flipped, smooth_image(3).transpose(Image.FLIP_LEFT_RIGHT),
                             category=parent["category"], split="train", parent_id=parent["sample_id"],
                             augmentation=json.dumps({"hflip": True}), source_url=None))
    rows.append({"sample_id": "q0", "status": "quarantined", "quarantine_reason": "no person detected",
                 "category": "upper_body", "split": "train", "source": "studio", "licence": "CC-BY-4.0",
                 "source_url": "https://example.invalid/q0"})
    return conform(pd.DataFrame(rows))
