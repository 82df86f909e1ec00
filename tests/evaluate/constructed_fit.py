"""A constructed dataset whose garments are worn tight, fitted or loose on the same drawn body.

Every file annotate would write is drawn here (person, garment, agnostic mask, LIP parse, person mask, BODY_25
keypoints), and the manifest's fit columns come from the real `worn_fit_ratios` on the drawn worn region, so a
model trained on it sees exactly what it would see after `vton annotate`: only the requested size tells how wide
the garment should be drawn.
"""

from __future__ import annotations

import hashlib
from pathlib import Path

import numpy as np
import pandas as pd
from PIL import Image, ImageDraw

FRAME = (96, 128)  # (w, h) of the drawn photos
COLOURS = {"red": (200, 30, 30), "green": (30, 150, 40), "blue": (30, 60, 200), "orange": (230, 150, 20)}
# Garment width at the chest in pixels (shoulder width is 40): worn ratios 0.75, 1.15 and 1.6.
WIDTHS = {"tight": 30, "fitted": 46, "loose": 64}
SKIN, TROUSERS = (225, 180, 150), (40, 40, 90)

# BODY_25 points (x, y) of the drawn body; every point seen.
POINTS = {
    "Nose": (48, 14), "Neck": (48, 26), "RShoulder": (28, 28), "RElbow": (22, 48), "RWrist": (20, 66),
    "LShoulder": (68, 28), "LElbow": (74, 48), "LWrist": (76, 66), "MidHip": (48, 72), "RHip": (40, 72),
    "RKnee": (40, 96), "RAnkle": (40, 120), "LHip": (56, 72), "LKnee": (56, 96), "LAnkle": (56, 120),
    "REye": (45, 12), "LEye": (51, 12), "REar": (42, 14), "LEar": (54, 14), "LBigToe": (57, 124),
    "LSmallToe": (59, 124), "LHeel": (55, 123), "RBigToe": (39, 124), "RSmallToe": (37, 124), "RHeel": (41, 123),
}


def body25() -> np.ndarray:
    """The drawn body's BODY_25 keypoints (25x3, confidence 0.9)."""
    from components.annotate.keypoints import B

    kp = np.zeros((25, 3), np.float32)
    for name, (x, y) in POINTS.items():
        kp[B[name]] = (x, y, 0.9)
    return kp


def worn_region(fit: str) -> np.ndarray:
    """The bool HxW region a garment of that fit covers on the drawn body (shoulders to just below the hips)."""
    w, h = FRAME
    half = WIDTHS[fit] / 2
    region = np.zeros((h, w), bool)
    region[27:75, int(round(48 - half)):int(round(48 + half))] = True
    return region


def _body_mask() -> np.ndarray:
    img = Image.new("L", FRAME, 0)
    d = ImageDraw.Draw(img)
    d.ellipse([39, 5, 57, 23], fill=255)
    d.rectangle([29, 24, 67, 74], fill=255)
    d.line([POINTS["RShoulder"], POINTS["RElbow"], POINTS["RWrist"]], fill=255, width=6)
    d.line([POINTS["LShoulder"], POINTS["LElbow"], POINTS["LWrist"]], fill=255, width=6)
    d.rectangle([38, 72, 46, 122], fill=255)
    d.rectangle([50, 72, 58, 122], fill=255)
    return np.asarray(img) > 127


def person_photo(colour: tuple[int, int, int], fit: str) -> tuple[Image.Image, np.ndarray, np.ndarray]:
    """(photo, LIP parse, person mask) of the drawn body wearing a `colour` top of `fit`."""
    body = _body_mask()
    garment = worn_region(fit)
    arr = np.full((FRAME[1], FRAME[0], 3), 255, np.uint8)
    arr[body] = SKIN
    legs = body.copy()
    legs[:75] = False
    arr[legs] = TROUSERS
    arr[garment] = colour
    parse = np.zeros(body.shape, np.uint8)
    parse[body] = 14  # arms and torso skin (not a garment label)
    parse[:24][body[:24]] = 13  # face
    parse[legs] = 9  # pants
    parse[garment] = 5  # upper-clothes: the worn region annotate measures
    return Image.fromarray(arr), parse, body | garment


def garment_photo(colour: tuple[int, int, int]) -> tuple[Image.Image, Image.Image]:
    """(product photo on white, its cloth mask): the same cut whatever fit it is worn with."""
    img = Image.new("RGB", FRAME, (255, 255, 255))
    mask = Image.new("L", FRAME, 0)
    for target, fill in ((img, colour), (mask, 255)):
        d = ImageDraw.Draw(target)
        d.rectangle([28, 24, 68, 104], fill=fill)
        d.polygon([(28, 24), (12, 50), (20, 56), (28, 40)], fill=fill)
        d.polygon([(68, 24), (84, 50), (76, 56), (68, 40)], fill=fill)
    return img, mask


def agnostic_mask() -> Image.Image:
    """The region to repaint: wide enough for the loosest garment."""
    m = Image.new("L", FRAME, 0)
    ImageDraw.Draw(m).rectangle([8, 22, 88, 78], fill=255)
    return m


def _sha(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def thresholds():
    """The fit bands of this data: upper_body fitted from 0.95 to 1.30 worn width ratio (the shipped band is
    1.05-1.30), so the drawn widths and the labels' representative ones sit well inside their bands even with a
    pixel or two of edge blur at the networks' 48x64."""
    from components.fit.params import FitParams, FitThresholds

    default = FitParams()
    upper = FitThresholds(tight_below=0.95, loose_above=1.30, typical_length=1.04, typical_span=1.15)
    return FitParams(thresholds={**default.thresholds, "upper_body": upper})


def build_sized_dataset(root: Path, split: str = "train", colours: dict | None = None) -> Path:
    """Write every colour x fit sample into `root` with its manifest; returns the folder."""
    from components.annotate.keypoints import openpose_json, write_json
    from components.fit.labels import classify_fit
    from components.fit.ratios import worn_fit_ratios
    from components.manifest.schema import sample_id_for, write_manifest

    root.mkdir(parents=True, exist_ok=True)
    kp = body25()
    rows = []
    for name, colour in (colours or COLOURS).items():
        for fit in WIDTHS:
            stem = f"{name}_{fit}"
            photo, parse, person_mask = person_photo(colour, fit)
            garment, cloth = garment_photo(colour)
            files = {"person": f"{stem}.png", "garment": f"{stem}_garment.png", "mask": f"{stem}_mask.png",
                     "cloth": f"{stem}_cloth.png", "parse": f"{stem}_parse.png", "body": f"{stem}_body.png",
                     "kp": f"{stem}_keypoints.json"}
            photo.save(root / files["person"])
            garment.save(root / files["garment"])
            agnostic_mask().save(root / files["mask"])
            cloth.save(root / files["cloth"])
            Image.fromarray(parse, "L").save(root / files["parse"])
            Image.fromarray(person_mask.astype(np.uint8) * 255).save(root / files["body"])
            write_json(openpose_json(kp), root / files["kp"])
            ratios = worn_fit_ratios("upper_body", parse == 5, kp, person_mask)
            rows.append({
                "sample_id": sample_id_for(_sha(root / files["person"]), _sha(root / files["garment"]), "upper_body"),
                "person_path": files["person"], "garment_path": files["garment"],
                "agnostic_mask_path": files["mask"], "cloth_mask_path": files["cloth"],
                "parse_path": files["parse"], "person_mask_path": files["body"], "keypoints_path": files["kp"],
                "category": "upper_body", "split": split, "status": "ok", "source": "tests",
                "source_url": stem, "licence": "CC0", "person_width": FRAME[0], "person_height": FRAME[1],
                "fit_width_ratio": ratios.width, "fit_length_ratio": ratios.length, "fit_span_ratio": ratios.span,
                "fit_label": classify_fit("upper_body", ratios, thresholds()),
            })
    write_manifest(pd.DataFrame(rows), root)
    return root
