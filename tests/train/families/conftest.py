"""Family-test fixtures: a tiny dataset of real photos annotated by the real annotate stage, garments worn.

Each garment is cut from its own photo by the parse (annotate's plain-folder mode), so the paired ground
truth really shows the garment: a trainer that learns must carry the garment's pixels into the repainted
region. Variants (crops, mirror images) of three photos give 12 people; 3 of them are held out.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from PIL import Image, ImageOps

from components.train.params import TrainParams

HELD_OUT = "mirror"  # the mirrored variant of every photo is a test sample


def _variants(photo: Image.Image) -> dict[str, Image.Image]:
    w, h = photo.size
    return {
        "full": photo,
        "left": photo.crop((0, 0, int(w * 0.9), h)),
        "right": photo.crop((int(w * 0.1), int(h * 0.04), w, h)),
        "mirror": ImageOps.mirror(photo.crop((int(w * 0.05), 0, int(w * 0.95), h))),
    }


def build_worn_dataset(root: Path, photos: dict) -> Path:
    """Annotate variants of the real photos into `root`/annotated (upper_body, garments cut from the worn
    clothes); the mirrored variants are the test split. Returns the dataset folder."""
    from components.annotate.params import AnnotateParams
    from components.annotate.run import annotate_folder
    from components.manifest.schema import read_manifest, write_manifest

    folder = root / "photos"
    folder.mkdir(parents=True, exist_ok=True)
    for name in ("astronaut", "grace_hopper", "camera"):
        for variant, img in _variants(photos[name]).items():
            img.resize((192, int(192 * img.height / img.width))).save(folder / f"{name}_{variant}.png")
    settings = AnnotateParams(width=96, height=128)
    out = root / "annotated"
    annotate_folder(folder, out, settings, root / "cache", ["upper_body"], licence="public domain / CC0")
    df = read_manifest(out)
    ok = df["status"] == "ok"
    df.loc[ok, "split"] = np.where(df.loc[ok, "source_url"].str.contains(HELD_OUT), "test", "train")
    write_manifest(df, out)
    if ok.sum() < 9:
        raise AssertionError(df[["source_url", "status", "quarantine_reason"]].to_string())
    return out


@pytest.fixture(scope="session")
def worn_dataset(tmp_path_factory, real_photos) -> Path:
    """An annotated upper_body dataset (9 train, 3 test) whose garments are the ones the people wear."""
    return build_worn_dataset(tmp_path_factory.mktemp("worn"), real_photos)


def family_params(tmp_path: Path, model: str, **overrides) -> TrainParams:
    """Train params for a family test: CPU, one thread, checkpoints in tmp, quiet tracking."""
    base = dict(model=model, device="cpu", num_threads=1, max_steps=4, checkpoint_every=2, batch_size=2,
                cache_dir=str(tmp_path / "cache"), tracking={"log_every": 1, "validate_every": 0})
    base.update(overrides)
    return TrainParams.model_validate(base)
