"""`vton export`: an annotated dataset written with the exact file names VITON-HD or DressCode trainers read.

viton-hd:  <out>/<split>/{image,cloth,agnostic-v3.2,image-densepose}/<id>_00.jpg, cloth-mask/<id>_00.jpg,
           image-parse-v3/<id>_00.png, openpose_json/<id>_00_keypoints.json, openpose_img/<id>_00_rendered.png,
           agnostic-mask/<id>_00_mask.png, <out>/<split>_pairs.txt
dresscode: <out>/<category>/images/<id>_0.jpg (person) and <id>_1.jpg (garment), keypoints/<id>_2.json,
           label_maps/<id>_4.png (DressCode's 18 ATR-style labels), skeletons/<id>_5.jpg, dense/<id>_5.png,
           masks/<id>_1.png (garment mask; an extra), <category>/{train_pairs,test_pairs_paired}.txt
"""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
from PIL import Image

from components.annotate.layout import save_labels
from components.manifest.schema import CATEGORIES, read_manifest

FORMATS = ("viton-hd", "dresscode")
# LIP id -> DressCode / ATR id (LIP has no belt or bag; gloves count as arms, socks as legs, coats as tops).
LIP_TO_DRESSCODE = np.array([0, 1, 2, 14, 3, 4, 7, 4, 12, 6, 7, 17, 5, 11, 14, 15, 12, 13, 9, 10], np.uint8)


def _jpg(src: Path, dst: Path) -> None:
    dst.parent.mkdir(parents=True, exist_ok=True)
    with Image.open(src) as img:
        img.convert("RGB").save(dst, format="JPEG", quality=95)


def _copy(src: Path, dst: Path) -> None:
    dst.parent.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(src, dst)


def export_dataset(dataset_dir: Path, out: Path, fmt: str) -> int:
    """Write the ok samples of `dataset_dir` into `out` in format `fmt`; return how many were exported."""
    df = read_manifest(dataset_dir)
    ok = df[df["status"] == "ok"]
    src = lambda rel: dataset_dir / rel  # noqa: E731
    pairs: dict[Path, list[str]] = {}
    for _, r in ok.iterrows():
        sid = r["sample_id"]
        if fmt == "viton-hd":
            base = out / r["split"]
            _jpg(src(r["person_path"]), base / "image" / f"{sid}_00.jpg")
            _jpg(src(r["garment_path"]), base / "cloth" / f"{sid}_00.jpg")
            _jpg(src(r["cloth_mask_path"]), base / "cloth-mask" / f"{sid}_00.jpg")
            _jpg(src(r["agnostic_path"]), base / "agnostic-v3.2" / f"{sid}_00.jpg")
            _copy(src(r["agnostic_mask_path"]), base / "agnostic-mask" / f"{sid}_00_mask.png")
            _copy(src(r["keypoints_path"]), base / "openpose_json" / f"{sid}_00_keypoints.json")
            _copy(src(r["pose_render_path"]), base / "openpose_img" / f"{sid}_00_rendered.png")
            if isinstance(r["parse_path"], str):
                _copy(src(r["parse_path"]), base / "image-parse-v3" / f"{sid}_00.png")
            if isinstance(r["densepose_path"], str):
                _jpg(src(r["densepose_path"]), base / "image-densepose" / f"{sid}_00.jpg")
            pairs.setdefault(out / f"{r['split']}_pairs.txt", []).append(f"{sid}_00.jpg {sid}_00.jpg")
        else:
            base = out / r["category"]
            _jpg(src(r["person_path"]), base / "images" / f"{sid}_0.jpg")
            _jpg(src(r["garment_path"]), base / "images" / f"{sid}_1.jpg")
            _copy(src(r["cloth_mask_path"]), base / "masks" / f"{sid}_1.png")
            _copy(src(r["keypoints_coco18_path"]), base / "keypoints" / f"{sid}_2.json")
            _jpg(src(r["pose_render_path"]), base / "skeletons" / f"{sid}_5.jpg")
            labels = _dresscode_labels(src, r)
            if labels is not None:
                save_labels(labels, base / "label_maps" / f"{sid}_4.png")
            if isinstance(r["densepose_path"], str):
                _copy(src(r["densepose_path"]), base / "dense" / f"{sid}_5.png")
            name = "train_pairs.txt" if r["split"] == "train" else "test_pairs_paired.txt"
            pairs.setdefault(base / name, []).append(f"{sid}_0.jpg {sid}_1.jpg")
    for path, lines in pairs.items():
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text("".join(line + "\n" for line in sorted(lines)))
    if fmt == "dresscode":
        for category in CATEGORIES:
            (out / category).mkdir(parents=True, exist_ok=True)
    return len(ok)


def _dresscode_labels(src, r) -> np.ndarray | None:
    """DressCode label map: the ATR parse when SCHP wrote one, else the LIP parse mapped to ATR ids."""
    if isinstance(r["parse_atr_path"], str):
        return np.asarray(Image.open(src(r["parse_atr_path"])))
    if isinstance(r["parse_path"], str):
        return LIP_TO_DRESSCODE[np.asarray(Image.open(src(r["parse_path"])))]
    return None
