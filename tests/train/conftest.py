"""Train-test fixtures: a small annotated dataset (real photos, drawn garments, agnostic masks) and tiny params."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pandas as pd
import pytest
from PIL import Image, ImageDraw

from components.manifest.schema import sample_id_for, write_manifest
from components.train.params import TrainParams

CATS = ("upper_body", "lower_body", "dresses")


def _sha(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _garment(category: str, size=(96, 128)) -> Image.Image:
    img = Image.new("RGB", size, "white")
    d = ImageDraw.Draw(img)
    w, h = size
    colour = {"upper_body": (180, 40, 40), "lower_body": (40, 60, 160), "dresses": (40, 140, 60)}[category]
    if category == "upper_body":
        d.polygon([(w * .3, h * .15), (w * .7, h * .15), (w * .9, h * .35), (w * .75, h * .45), (w * .72, h * .9),
                   (w * .28, h * .9), (w * .25, h * .45), (w * .1, h * .35)], fill=colour)
    elif category == "lower_body":
        d.polygon([(w * .3, h * .1), (w * .7, h * .1), (w * .75, h * .92), (w * .55, h * .92), (w * .5, h * .4),
                   (w * .45, h * .92), (w * .25, h * .92)], fill=colour)
    else:
        d.polygon([(w * .38, h * .08), (w * .62, h * .08), (w * .66, h * .4), (w * .85, h * .92), (w * .15, h * .92),
                   (w * .34, h * .4)], fill=colour)
    return img


def _mask(category: str, size) -> Image.Image:
    w, h = size
    m = Image.new("L", size, 0)
    top, bottom = {"upper_body": (.3, .75), "lower_body": (.55, 1.0), "dresses": (.3, 1.0)}[category]
    ImageDraw.Draw(m).rectangle([w * .2, h * top, w * .8, h * bottom], fill=255)
    return m


def make_dataset(root: Path, photos: dict, n_train: int = 3, ratios: bool = False) -> Path:
    """A dataset dir with `n_train` train rows (cycling categories) and one test row, in the manifest schema."""
    root.mkdir(parents=True, exist_ok=True)
    people = [photos["astronaut"], photos["camera"], photos["grace_hopper"]]
    rows = []
    for i in range(n_train + 1):
        cat = CATS[i % 3]
        person = people[i % len(people)].resize((96, 128) if i % 2 == 0 else (128, 128))
        person.putpixel((0, 0), (i, i, i))  # every row a distinct photo (distinct content hash)
        pp, gp, mp = root / f"person_{i}.png", root / f"garment_{i}.png", root / f"mask_{i}.png"
        person.save(pp)
        _garment(cat).save(gp)
        _mask(cat, person.size).save(mp)
        rows.append({
            "sample_id": sample_id_for(_sha(pp), _sha(gp), cat), "person_path": pp.name, "garment_path": gp.name,
            "agnostic_mask_path": mp.name, "category": cat, "split": "test" if i == n_train else "train",
            "status": "ok", "source": "tests", "licence": "public domain / CC0",
            "person_width": person.width, "person_height": person.height,
            "garment_to_body_width_ratio": 1.0 + 0.1 * i if ratios else None,
            "garment_to_body_length_ratio": 0.9 + 0.05 * i if ratios else None,
            "fit_width_ratio": 1.0 + 0.1 * i if ratios else None,  # what size conditioning reads
            "fit_length_ratio": 0.9 + 0.05 * i if ratios else None,
            "fit_span_ratio": 1.1 + 0.05 * i if ratios else None,
        })
    rows.append({"sample_id": "quarantined0", "person_path": None, "garment_path": None, "category": "upper_body",
                 "split": "train", "status": "quarantined", "quarantine_reason": "no person", "source": "tests",
                 "licence": "CC0"})
    df = pd.DataFrame(rows)
    write_manifest(df, root)
    return root


def tiny_params(tmp_path: Path, **overrides) -> TrainParams:
    """Train params sized for a test: 32x32 panels, a couple of steps, one thread, cache in tmp.

    The `vton_lora` recipe unless overridden: the tests written for the trainer's LoRA path keep proving it.
    """
    base = dict(
        recipe="vton_lora", base_model="tiny", buckets=[(32, 32)], max_steps=4, checkpoint_every=2, learning_rate=1e-3,
        num_threads=1, device="cpu", cache_dir=str(tmp_path / "cache"), inference_steps=2,
        tracking={"log_every": 1, "validate_every": 0, "validation_steps": 2},
    )
    base.update(overrides)
    return TrainParams.model_validate(base)


@pytest.fixture
def dataset(tmp_path: Path, real_photos) -> Path:
    """A 3-train / 1-test annotated dataset built from real photos."""
    return make_dataset(tmp_path / "augmented", real_photos)


@pytest.fixture(autouse=True)
def _one_thread():
    import torch

    torch.set_num_threads(1)
    yield
