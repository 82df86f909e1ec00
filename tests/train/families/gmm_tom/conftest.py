"""A tiny paired try-on dataset from real photographs: people photographed wearing garments cut from real photos.

Each pair is a real photo (the person) wearing a garment whose texture is a crop of another real photo, placed by
a random scale and shift, so the worn garment is a known warp of the product image. The files carry the
annotations a manifest row points at (agnostic mask, cloth mask, LIP parse, person mask, COCO-18 keypoints),
and `pairs()` loads them through the family contract (representation.load_sample_inputs) like training does.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from PIL import Image, ImageDraw

from components.manifest.schema import sample_id_for, write_manifest

SOURCE = (96, 128)  # (w, h) of the photos written to disk
# A T-shirt outline in the garment photo (fractions of width, height) and the keypoints it carries.
SHIRT = [(.32, .14), (.68, .14), (.92, .34), (.78, .46), (.72, .40), (.72, .90), (.28, .90), (.28, .40), (.22, .46),
         (.08, .34)]
SHIRT_KEYPOINTS = {1: (.50, .14), 2: (.30, .16), 5: (.70, .16), 8: (.36, .88), 11: (.64, .88)}  # COCO-18 ids


def _sha(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _texture(photo: Image.Image, rng: np.random.Generator) -> Image.Image:
    """A random crop of a real photo, as the garment's fabric."""
    w, h = photo.size
    side = int(min(w, h) * rng.uniform(0.3, 0.6))
    x, y = int(rng.integers(0, w - side)), int(rng.integers(0, h - side))
    return photo.crop((x, y, x + side, y + side)).resize(SOURCE, Image.BICUBIC)


def make_pair(person_photo: Image.Image, fabric_photo: Image.Image, rng: np.random.Generator) -> dict:
    """One pair as arrays: person wearing the garment, garment photo, and every annotation of it."""
    w, h = SOURCE
    texture = _texture(fabric_photo, rng)
    outline = Image.new("L", SOURCE, 0)
    ImageDraw.Draw(outline).polygon([(x * w, y * h) for x, y in SHIRT], fill=255)
    garment = Image.composite(texture, Image.new("RGB", SOURCE, "white"), outline)
    # Where it is worn: scaled by s about the garment photo's origin, then shifted to (tx, ty).
    s = rng.uniform(0.5, 0.75)
    tx, ty = rng.uniform(0.05, 0.95 - s) * w, rng.uniform(0.15, 0.95 - s) * h
    inverse = (1 / s, 0, -tx / s, 0, 1 / s, -ty / s)  # PIL maps output pixels back into the garment photo
    worn_rgb = garment.transform(SOURCE, Image.AFFINE, inverse, Image.BILINEAR, fillcolor="white")
    worn = np.asarray(outline.transform(SOURCE, Image.AFFINE, inverse, Image.NEAREST)) > 127
    person = np.asarray(person_photo.convert("RGB").resize(SOURCE, Image.BICUBIC)).copy()
    person[worn] = np.asarray(worn_rgb)[worn]
    ys, xs = np.nonzero(worn)
    agnostic = np.zeros((h, w), bool)
    agnostic[max(0, ys.min() - 3):ys.max() + 4, max(0, xs.min() - 3):xs.max() + 4] = True
    body = np.zeros((h, w), bool)
    body[max(0, ys.min() - 6):ys.max() + 7, max(0, xs.min() - 6):xs.max() + 7] = True
    parse = np.where(worn, 5, np.where(body, 14, 0)).astype(np.uint8)  # upper-clothes on arms/body (LIP ids)
    keypoints = np.zeros((18, 3), np.float32)
    for k, (x, y) in SHIRT_KEYPOINTS.items():
        keypoints[k] = (x * w * s + tx, y * h * s + ty, 1.0)
    return {"person": person, "garment": np.asarray(garment), "agnostic_mask": agnostic,
            "cloth_mask": np.asarray(outline) > 127, "parse": parse, "person_mask": body, "keypoints": keypoints}


def write_pairs(root: Path, photos: dict, n_train: int, n_test: int, seed: int = 0) -> Path:
    """A dataset folder with manifest.parquet: `n_train` train and `n_test` test pairs (all upper_body)."""
    root.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(seed)
    people = [photos["astronaut"], photos["camera"], photos["grace_hopper"]]
    fabrics = [photos["chelsea"], photos["astronaut"], photos["grace_hopper"], photos["camera"]]
    rows = []
    for i in range(n_train + n_test):
        pair = make_pair(people[i % len(people)], fabrics[int(rng.integers(len(fabrics)))], rng)
        files = {}
        for key, suffix in (("person", "person"), ("garment", "garment"), ("agnostic_mask", "agnostic"),
                            ("cloth_mask", "cloth"), ("parse", "parse"), ("person_mask", "body")):
            arr = pair[key]
            img = Image.fromarray(arr.astype(np.uint8) * 255 if arr.dtype == bool else arr)
            files[key] = root / f"{i:03d}_{suffix}.png"
            img.save(files[key])
        files["keypoints"] = root / f"{i:03d}_keypoints.json"
        files["keypoints"].write_text(json.dumps({"keypoints": pair["keypoints"].tolist()}))
        rows.append({
            "sample_id": sample_id_for(_sha(files["person"]), _sha(files["garment"]), "upper_body"),
            "person_path": files["person"].name, "garment_path": files["garment"].name,
            "agnostic_mask_path": files["agnostic_mask"].name, "cloth_mask_path": files["cloth_mask"].name,
            "parse_path": files["parse"].name, "person_mask_path": files["person_mask"].name,
            "keypoints_coco18_path": files["keypoints"].name, "category": "upper_body",
            "split": "train" if i < n_train else "test", "status": "ok", "source": "tests",
            "licence": "public domain / CC0", "person_width": SOURCE[0], "person_height": SOURCE[1],
        })
    write_manifest(pd.DataFrame(rows), root)
    return root


@pytest.fixture(scope="session")
def pair_dataset(tmp_path_factory, real_photos) -> Path:
    """64 train and 8 held-out pairs."""
    return write_pairs(tmp_path_factory.mktemp("pairs"), real_photos, n_train=64, n_test=8)


@pytest.fixture(autouse=True)
def _one_thread():
    import torch

    torch.set_num_threads(1)
    yield
