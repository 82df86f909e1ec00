"""A constructed annotated dataset whose pixels encode their own labels, so alignment can be measured.

Person image: white background; the person mask painted green, except the LIP left-arm region (14) red
and right-arm region (15) blue; the agnostic image greys out the agnostic mask; 25 keypoint markers, each
a 7x7 square of its own colour. DensePose part ids follow the arms (hands 3/4). Garment: a magenta
polygon (the cloth mask) on white.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
from PIL import Image, ImageDraw

from components.annotate.keypoints import dresscode_json, openpose_json, write_json
from components.annotate.layout import (
    densepose_image, path_for, render_densepose, save_image, save_labels, save_mask, save_png,
)
from components.manifest.schema import write_manifest

W, H = 96, 128
GREEN, RED, BLUE, GREY, MAGENTA = (0, 170, 0), (230, 0, 0), (0, 0, 230), (128, 128, 128), (200, 0, 200)
# Distinct, saturated marker colours far from the region colours (greens/reds/blues at full strength).
MARKERS = [(40 + (i * 53) % 180, 90 + (i * 97) % 150, 60 + (i * 31) % 180) for i in range(25)]


def keypoints(offset: int = 0) -> np.ndarray:
    """25 keypoints on a grid inside the frame (a few marked missing)."""
    kp = np.zeros((25, 3), np.float32)
    for i in range(25):
        kp[i] = (14 + (i % 5) * 17 + offset, 16 + (i // 5) * 22, 0.9)
    kp[[20, 23], :] = 0  # MediaPipe has no small toes: missing points stay missing
    return kp


def person_arrays(kp: np.ndarray) -> dict:
    """Image, masks, labels and DensePose of one synthetic person."""
    mask_img = Image.new("L", (W, H), 0)
    ImageDraw.Draw(mask_img).ellipse((8, 6, 88, 124), fill=255)
    mask = np.asarray(mask_img) > 0
    parse = np.where(mask, 5, 0).astype(np.uint8)  # 5 = upper clothes
    parse[10:120, 8:40][mask[10:120, 8:40]] = 14  # left arm (image left, for the test's purposes)
    parse[10:120, 56:88][mask[10:120, 56:88]] = 15  # right arm
    image = np.full((H, W, 3), 255, np.uint8)
    image[mask] = GREEN
    image[parse == 14] = RED
    image[parse == 15] = BLUE
    agnostic_mask = np.zeros((H, W), bool)
    agnostic_mask[40:90, 30:66] = True
    for i, (x, y, c) in enumerate(kp):
        if c > 0:
            image[int(y) - 3:int(y) + 4, int(x) - 3:int(x) + 4] = MARKERS[i]
    agnostic = image.copy()
    agnostic[agnostic_mask] = GREY
    parts = np.where(parse == 14, 3, np.where(parse == 15, 4, np.where(mask, 2, 0))).astype(np.uint8)
    return {"image": image, "mask": mask, "parse": parse, "agnostic_mask": agnostic_mask, "agnostic": agnostic,
            "densepose": densepose_image(parts, None)}


def garment_arrays() -> tuple[np.ndarray, np.ndarray]:
    """A garment image and its cloth mask."""
    m = Image.new("L", (W, H), 0)
    ImageDraw.Draw(m).polygon([(20, 20), (76, 20), (84, 60), (66, 60), (70, 110), (26, 110), (30, 60), (12, 60)],
                              fill=255)
    mask = np.asarray(m) > 0
    img = np.full((H, W, 3), 255, np.uint8)
    img[mask] = MAGENTA
    return img, mask


def build_annotated(root: Path, n_train: int = 2) -> pd.DataFrame:
    """Write an annotated dataset (annotate layout + manifest) with n_train train, 1 test, 1 quarantined row."""
    rows = []
    specs = [(f"{i:016x}", "train") for i in range(1, n_train + 1)] + [("00000000000000ff", "test")]
    for sid, split in specs:
        kp = keypoints(offset=int(sid, 16) % 3)
        arr = person_arrays(kp)
        garment, cloth = garment_arrays()
        row = {"sample_id": sid, "category": "upper_body", "split": split, "status": "ok", "source": "synthetic",
               "licence": "CC0", "n_people": 1.0}
        for col, writer, data in (
            ("person_path", save_image, arr["image"]), ("garment_path", save_image, garment),
            ("cloth_mask_path", save_mask, cloth), ("person_mask_path", save_mask, arr["mask"]),
            ("agnostic_mask_path", save_mask, arr["agnostic_mask"]), ("agnostic_path", save_image, arr["agnostic"]),
            ("parse_path", save_labels, arr["parse"]), ("densepose_iuv_path", save_png, arr["densepose"]),
            ("densepose_path", save_png, render_densepose(arr["densepose"][..., 0])),
        ):
            row[col] = path_for(col, split, sid)
            writer(data, root / row[col])
        row["keypoints_path"] = path_for("keypoints_path", split, sid)
        write_json(openpose_json(kp), root / row["keypoints_path"])
        row["keypoints_coco18_path"] = path_for("keypoints_coco18_path", split, sid)
        write_json(dresscode_json(kp), root / row["keypoints_coco18_path"])
        rows.append(row)
    rows.append({"sample_id": "q000000000000001", "category": "upper_body", "split": "train",
                 "status": "quarantined", "quarantine_reason": "no person: pose detector found nobody",
                 "source": "synthetic", "licence": "CC0"})
    df = pd.DataFrame(rows)
    write_manifest(df, root)
    return df


def load_png(path: Path) -> np.ndarray:
    return np.asarray(Image.open(path))
