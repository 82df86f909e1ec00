"""Augmentation throughput (samples/s) on a constructed annotated dataset at VITON-HD resolution.

    python benchmarks/augment.py [--samples 16] [--size 384x512 768x1024]

Each sample has a person image, agnostic image, person/agnostic/cloth masks, LIP parsing, DensePose IUV and
BODY_25 + COCO-18 keypoints, so every target moves. Figures: the default params.yaml transforms with pair
flips on, reading and writing PNGs included (the stage's cost), and augment_sample alone (arrays in memory).
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))


def build(root: Path, n: int, width: int, height: int) -> None:
    import numpy as np
    from PIL import Image

    import tests.data.augment.annotated as synth

    small = root / "small"
    synth.build_annotated(small, n_train=n)
    # Scale every file to the benchmark size (nearest for maps), keeping the manifest.
    from components.annotate.layout import save_image

    # Every image the layout holds: colour photos are JPEG, maps PNG (a palette PNG keeps its palette).
    for path in [*small.rglob("*.png"), *small.rglob("*.jpg")]:
        img = Image.open(path)
        resample = Image.BILINEAR if img.mode == "RGB" and "image-densepose" not in str(path) else Image.NEAREST
        resized = img.resize((width, height), resample)
        if resized.mode == "P":
            resized.save(path)
        else:
            save_image(np.asarray(resized), path)
    import json

    for path in small.rglob("*.json"):
        doc = json.loads(path.read_text())
        sx, sy = width / synth.W, height / synth.H
        if "people" in doc:
            flat = np.asarray(doc["people"][0]["pose_keypoints_2d"]).reshape(-1, 3)
            flat[:, 0] *= sx
            flat[:, 1] *= sy
            doc["people"][0]["pose_keypoints_2d"] = flat.reshape(-1).tolist()
        path.write_text(json.dumps(doc))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--samples", type=int, default=16)
    parser.add_argument("--size", nargs="+", default=["384x512", "768x1024"])
    args = parser.parse_args()

    import cv2

    cv2.setNumThreads(1)
    from components.data.augment.run import augment_dataset
    from components.data.augment.sample import augment_sample, load_sample
    from components.data.params import AugmentParams
    from components.manifest.schema import read_manifest

    params = AugmentParams(garment_flip=True)
    with tempfile.TemporaryDirectory() as tmp:  # warm-up: imports and first-call set-up are not throughput
        build(Path(tmp), 1, 96, 128)
        augment_dataset(Path(tmp) / "small", Path(tmp) / "out", params)
    for size in args.size:
        w, h = (int(v) for v in size.split("x"))
        with tempfile.TemporaryDirectory() as tmp:
            root = Path(tmp)
            build(root, args.samples, w, h)
            t0 = time.perf_counter()
            report = augment_dataset(root / "small", root / "out", params)
            stage = time.perf_counter() - t0
            df = read_manifest(root / "small")
            row = {k: v for k, v in df[df["split"] == "train"].iloc[0].to_dict().items()
                   if not (isinstance(v, float) and v != v)}
            sample = load_sample(row, root / "small")
            t0 = time.perf_counter()
            for i in range(args.samples):
                augment_sample(sample, params, seed=i)
            core = time.perf_counter() - t0
        print(f"{size}: stage {report.variants / stage:.1f} samples/s (read + augment + write + stats); "
              f"augment_sample alone {args.samples / core:.1f} samples/s")


if __name__ == "__main__":
    main()
