"""Readers that open a dataset tree the way the published dataset classes do, to check exports against them.

Written from the conventions of VITON-HD's `datasets.py` (shadow2496/VITON-HD) on the dataset as now
published (the `zalando-hd-resized` tree: `image-parse-v3`, `openpose_img`, `openpose_json`), and of DressCode's
`data/dataset.py` (aimagelab/dress-code): which lists they read, which files they open, in which mode, and
the array shapes their tensors then need. Where the real class would fail later (a broadcast error, a
wrong channel count), these raise at once, naming the file.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
from PIL import Image

DRESSCODE_CATEGORIES = ("dresses", "upper_body", "lower_body")


class LayoutMismatch(AssertionError):
    """A file is not what the published dataset class expects."""


def _pairs(path: Path) -> list[tuple[str, str]]:
    # Both classes unpack `line.strip().split()` into exactly two names.
    out = []
    for line in path.read_text().splitlines():
        parts = line.strip().split()
        if len(parts) != 2:
            raise LayoutMismatch(f"{path}: {line!r} does not unpack into (person, cloth)")
        out.append((parts[0], parts[1]))
    return out


def _rgb(path: Path) -> np.ndarray:
    # ToTensor + Normalize over three channels: anything but an RGB image breaks it.
    with Image.open(path) as img:
        if img.mode != "RGB":
            raise LayoutMismatch(f"{path}: mode {img.mode}, the loader normalises three channels")
        return np.asarray(img)


def _one_channel(path: Path) -> np.ndarray:
    with Image.open(path) as img:
        arr = np.asarray(img)
    if arr.ndim != 2:
        raise LayoutMismatch(f"{path}: {arr.shape}, the loader needs one channel")
    return arr


class VitonHDLoader:
    """VITON-HD: `<root>/<mode>_pairs.txt` (unpaired for test), files under `<root>/<mode>/`."""

    def __init__(self, root: Path, mode: str = "test", pairs_file: str | None = None) -> None:
        self.data = Path(root) / mode
        self.pairs = _pairs(Path(root) / (pairs_file or f"{mode}_pairs.txt"))

    def __len__(self) -> int:
        return len(self.pairs)

    def __getitem__(self, index: int) -> dict:
        img_name, c_name = self.pairs[index]
        cloth = Image.open(self.data / "cloth" / c_name).convert("RGB")  # the class converts the cloth
        # cloth-mask is opened as is, thresholded at 128 and given one leading axis: it must be one channel.
        mask = _one_channel(self.data / "cloth-mask" / c_name) >= 128
        pose_img = _rgb(self.data / "openpose_img" / img_name.replace(".jpg", "_rendered.png"))
        doc = json.loads((self.data / "openpose_json" / img_name.replace(".jpg", "_keypoints.json")).read_text())
        pose = np.asarray(doc["people"][0]["pose_keypoints_2d"], dtype=np.float64).reshape((-1, 3))[:, :2]
        # The parse is scattered into 20 one-hot channels: one channel of LIP ids below 20.
        parse = _one_channel(self.data / "image-parse-v3" / img_name.replace(".jpg", ".png"))
        if parse.max() >= 20:
            raise LayoutMismatch(f"{img_name}: parse id {parse.max()} is not a LIP id (0-19)")
        image = _rgb(self.data / "image" / img_name)
        if pose.shape[0] != 25:
            raise LayoutMismatch(f"{img_name}: {pose.shape[0]} keypoints, BODY_25 has 25")
        return {"img_name": img_name, "c_name": c_name, "image": image, "cloth": np.asarray(cloth),
                "cloth_mask": mask, "pose_image": pose_img, "pose": pose, "parse": parse}


class DressCodeLoader:
    """DressCode: `<root>/<category>/{train_pairs,<phase>_pairs_<order>}.txt`, files beside them."""

    def __init__(self, root: Path, phase: str, order: str = "paired", categories=DRESSCODE_CATEGORIES,
                 dense: bool = True) -> None:
        self.dense = dense  # the published class always reads dense/; False checks a tree DensePose did not run on
        self.items: list[tuple[Path, str, str]] = []
        for category in categories:
            folder = Path(root) / category
            filename = "train_pairs.txt" if phase == "train" else f"{phase}_pairs_{order}.txt"
            self.items += [(folder, im, c) for im, c in _pairs(folder / filename)]

    def __len__(self) -> int:
        return len(self.items)

    def __getitem__(self, index: int) -> dict:
        folder, im_name, c_name = self.items[index]
        cloth = _rgb(folder / "images" / c_name)
        image = _rgb(folder / "images" / im_name)
        skeleton = _rgb(folder / "skeletons" / im_name.replace("_0", "_5"))
        labels = _one_channel(folder / "label_maps" / im_name.replace("_0.jpg", "_4.png"))
        if labels.max() > 17:
            raise LayoutMismatch(f"{im_name}: label id {labels.max()} is not a DressCode label (0-17)")
        doc = json.loads((folder / "keypoints" / im_name.replace("_0.jpg", "_2.json")).read_text())
        keypoints = np.asarray(doc["keypoints"], dtype=np.float64).reshape((-1, 4))
        out = {"category": folder.name, "im_name": im_name, "c_name": c_name, "cloth": cloth, "image": image,
               "skeleton": skeleton, "labels": labels, "keypoints": keypoints}
        if self.dense:
            uv = np.load(folder / "dense" / im_name.replace("_0.jpg", "_5_uv.npz"))["uv"]
            if uv.ndim != 3 or uv.shape[0] != 2:
                raise LayoutMismatch(f"{im_name}: uv {uv.shape}, expected (2, H, W)")
            parts = _one_channel(folder / "dense" / im_name.replace("_0.jpg", "_5.png"))
            if parts.max() > 24:
                raise LayoutMismatch(f"{im_name}: DensePose part id {parts.max()} (0-24)")
            out.update(dense_uv=uv, dense_labels=parts)
        return out
