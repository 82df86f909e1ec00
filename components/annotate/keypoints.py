"""Keypoint formats: MediaPipe's 33 landmarks -> OpenPose BODY_25 -> DressCode COCO-18, their JSON
files, and the OpenPose-coloured skeleton rendering.

A missing point is (0, 0, 0), as OpenPose writes it; coordinates are pixels in the output image frame.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from components.annotate.layout import fresh_file

BODY25_NAMES: tuple[str, ...] = (
    "Nose", "Neck", "RShoulder", "RElbow", "RWrist", "LShoulder", "LElbow", "LWrist", "MidHip",
    "RHip", "RKnee", "RAnkle", "LHip", "LKnee", "LAnkle", "REye", "LEye", "REar", "LEar",
    "LBigToe", "LSmallToe", "LHeel", "RBigToe", "RSmallToe", "RHeel",
)
B = {name: i for i, name in enumerate(BODY25_NAMES)}

# BODY_25 index -> MediaPipe pose landmark index. Neck and MidHip are midpoints (below); MediaPipe has no
# small toes, so LSmallToe/RSmallToe stay missing; its foot_index point is the big toe's tip.
MEDIAPIPE_FOR_BODY25: dict[int, int] = {
    B["Nose"]: 0, B["RShoulder"]: 12, B["RElbow"]: 14, B["RWrist"]: 16, B["LShoulder"]: 11, B["LElbow"]: 13,
    B["LWrist"]: 15, B["RHip"]: 24, B["RKnee"]: 26, B["RAnkle"]: 28, B["LHip"]: 23, B["LKnee"]: 25,
    B["LAnkle"]: 27, B["REye"]: 5, B["LEye"]: 2, B["REar"]: 8, B["LEar"]: 7, B["LBigToe"]: 31,
    B["LHeel"]: 29, B["RBigToe"]: 32, B["RHeel"]: 30,
}

# DressCode / OpenPose COCO-18 order, as BODY_25 indices (COCO-18 has no MidHip and no feet).
COCO18_FROM_BODY25: tuple[int, ...] = (0, 1, 2, 3, 4, 5, 6, 7, 9, 10, 11, 12, 13, 14, 15, 16, 17, 18)

# OpenPose's BODY_25 render pairs and per-keypoint colours (RGB); a limb takes its second point's colour.
BODY25_PAIRS: tuple[tuple[int, int], ...] = (
    (1, 8), (1, 2), (1, 5), (2, 3), (3, 4), (5, 6), (6, 7), (8, 9), (9, 10), (10, 11), (8, 12), (12, 13),
    (13, 14), (1, 0), (0, 15), (15, 17), (0, 16), (16, 18), (14, 19), (19, 20), (14, 21), (11, 22),
    (22, 23), (11, 24),
)
BODY25_COLORS: tuple[tuple[int, int, int], ...] = (
    (255, 0, 85), (255, 0, 0), (255, 85, 0), (255, 170, 0), (255, 255, 0), (170, 255, 0), (85, 255, 0),
    (0, 255, 0), (255, 0, 0), (0, 255, 85), (0, 255, 170), (0, 255, 255), (0, 170, 255), (0, 85, 255),
    (0, 0, 255), (255, 0, 170), (170, 0, 255), (255, 0, 255), (85, 0, 255), (0, 0, 255), (0, 0, 255),
    (0, 0, 255), (0, 255, 255), (0, 255, 255), (0, 255, 255),
)


def body25_from_landmarks(
    landmarks: np.ndarray, width: int, height: int, min_visibility: float,
    valid_box: tuple[float, float, float, float] | None = None,
) -> np.ndarray:
    """BODY_25 (25x3) from MediaPipe landmarks (33x3: normalised x, y, visibility) in a width x height frame.

    A point below `min_visibility`, or outside `valid_box` (x0, y0, x1, y1; default the whole frame, e.g.
    the photo inside a letterbox), is missing. Neck and MidHip are the midpoints of the shoulders and
    hips when both are present, with the lower confidence of the two.
    """
    x0, y0, x1, y1 = valid_box or (0.0, 0.0, float(width), float(height))
    out = np.zeros((25, 3), dtype=np.float32)
    for b_idx, m_idx in MEDIAPIPE_FOR_BODY25.items():
        x, y, vis = float(landmarks[m_idx, 0]) * width, float(landmarks[m_idx, 1]) * height, float(landmarks[m_idx, 2])
        if vis >= min_visibility and x0 <= x < x1 and y0 <= y < y1:
            out[b_idx] = (x, y, vis)
    for mid, (a, b) in ((B["Neck"], (B["RShoulder"], B["LShoulder"])), (B["MidHip"], (B["RHip"], B["LHip"]))):
        if out[a, 2] > 0 and out[b, 2] > 0:
            out[mid, :2] = (out[a, :2] + out[b, :2]) / 2
            out[mid, 2] = min(out[a, 2], out[b, 2])
    return out


def coco18_from_body25(body25: np.ndarray) -> np.ndarray:
    """COCO-18 (18x3) keypoints picked from BODY_25."""
    return np.asarray(body25, dtype=np.float32)[list(COCO18_FROM_BODY25)]


def openpose_json(body25: np.ndarray) -> dict:
    """The OpenPose 1.3 JSON document for one person (the file VITON-HD's openpose_json holds)."""
    flat = [round(float(v), 3) for v in np.asarray(body25, dtype=np.float64).reshape(-1)]
    return {
        "version": 1.3,
        "people": [{
            "person_id": [-1],
            "pose_keypoints_2d": flat,
            "face_keypoints_2d": [], "hand_left_keypoints_2d": [], "hand_right_keypoints_2d": [],
            "pose_keypoints_3d": [], "face_keypoints_3d": [],
            "hand_left_keypoints_3d": [], "hand_right_keypoints_3d": [],
        }],
    }


def dresscode_json(body25: np.ndarray) -> dict:
    """DressCode's keypoint JSON: {"keypoints": [[x, y, score, index]] * 18} in COCO-18 order."""
    coco = coco18_from_body25(body25)
    return {"keypoints": [[round(float(x), 3), round(float(y), 3), round(float(c), 4), float(i)]
                          for i, (x, y, c) in enumerate(coco)]}


def write_json(doc: dict, path: Path) -> None:
    """Write `doc` as compact, deterministic JSON (a new file: an old one may be a link into a cache)."""
    fresh_file(path).write_text(json.dumps(doc, separators=(",", ":")))


def read_body25(path: Path) -> np.ndarray:
    """BODY_25 (25x3) of the first person in an OpenPose JSON file (zeros when it lists nobody)."""
    doc = json.loads(Path(path).read_text())
    people = doc.get("people") or []
    if not people:
        return np.zeros((25, 3), dtype=np.float32)
    return np.asarray(people[0]["pose_keypoints_2d"], dtype=np.float32).reshape(25, 3)


def render_skeleton(body25: np.ndarray, width: int, height: int, background: np.ndarray | None = None) -> np.ndarray:
    """An RGB uint8 image of the BODY_25 skeleton in OpenPose colours (on black, or over `background`)."""
    import cv2

    canvas = np.zeros((height, width, 3), np.uint8) if background is None else background.copy()
    scale = max(1, round(min(width, height) / 256))
    stick, dot = 2 * scale, 2 * scale + 1
    present = body25[:, 2] > 0
    for a, b in BODY25_PAIRS:
        if present[a] and present[b]:
            pa = tuple(int(round(v)) for v in body25[a, :2])
            pb = tuple(int(round(v)) for v in body25[b, :2])
            cv2.line(canvas, pa, pb, BODY25_COLORS[b], stick, lineType=cv2.LINE_AA)
    for i in np.flatnonzero(present):
        cv2.circle(canvas, tuple(int(round(v)) for v in body25[i, :2]), dot, BODY25_COLORS[i], -1, cv2.LINE_AA)
    return canvas
