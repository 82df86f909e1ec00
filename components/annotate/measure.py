"""Body and garment measurements for fit metrics and size-aware training (pure functions, pixels).

Body figures come from BODY_25 keypoints and are NaN when the points they need are missing (no guess);
`_norm` figures divide by body height (top of the person mask to the lower ankle), so they are NaN for
photos that do not show the ankles. Garment figures are row extents of the cloth mask: widths at 25%
(chest), 50% (waist) and 95% (hem) of the garment's height. Garment and person are separate photos at
different scales, so garment-to-body ratios compare shapes across samples, not absolute sizes.
"""

from __future__ import annotations

import math

import numpy as np

from components.annotate.keypoints import B

NAN = float("nan")


def _dist(kp: np.ndarray, a: str, b: str) -> float:
    pa, pb = kp[B[a]], kp[B[b]]
    return float(np.linalg.norm(pa[:2] - pb[:2])) if pa[2] > 0 and pb[2] > 0 else NAN


def _path(kp: np.ndarray, names: tuple[str, ...]) -> float:
    total = 0.0
    for a, b in zip(names, names[1:]):
        d = _dist(kp, a, b)
        if math.isnan(d):
            return NAN
        total += d
    return total


def body_measurements(kp: np.ndarray, person_mask: np.ndarray | None) -> dict[str, float]:
    """Shoulder width, torso length, hip width, leg length, body height (pixels) and their _norm versions."""
    kp = np.asarray(kp, dtype=np.float64)
    legs = [_path(kp, ("RHip", "RKnee", "RAnkle")), _path(kp, ("LHip", "LKnee", "LAnkle"))]
    legs = [x for x in legs if not math.isnan(x)]
    out = {
        "shoulder_width": _dist(kp, "RShoulder", "LShoulder"),
        "torso_length": _dist(kp, "Neck", "MidHip"),
        "hip_width": _dist(kp, "RHip", "LHip"),
        "leg_length": float(np.mean(legs)) if legs else NAN,
        "body_height": _body_height(kp, person_mask),
    }
    for name in ("shoulder_width", "torso_length", "hip_width", "leg_length"):
        h = out["body_height"]
        out[f"{name}_norm"] = out[name] / h if h and not math.isnan(h) and not math.isnan(out[name]) else NAN
    return out


def _body_height(kp: np.ndarray, person_mask: np.ndarray | None) -> float:
    """Top of the head (person mask, else the nose) to the lowest ankle/heel; NaN without ankles."""
    feet = [kp[B[n], 1] for n in ("RAnkle", "LAnkle", "RHeel", "LHeel") if kp[B[n], 2] > 0]
    if not feet:
        return NAN
    top = NAN
    if person_mask is not None and person_mask.any():
        top = float(np.argmax(person_mask.any(axis=1)))
    elif kp[B["Nose"], 2] > 0:
        top = float(kp[B["Nose"], 1])
    return max(feet) - top if not math.isnan(top) else NAN


def garment_measurements(mask: np.ndarray) -> dict[str, float]:
    """Width at chest/waist/hem and length (pixels) of a garment mask; NaN for an empty mask."""
    rows = np.flatnonzero(mask.any(axis=1))
    if rows.size == 0:
        return {k: NAN for k in ("garment_width_chest", "garment_width_waist", "garment_width_hem", "garment_length")}
    top, bottom = int(rows[0]), int(rows[-1])
    length = bottom - top + 1

    def width_at(frac: float) -> float:
        cols = np.flatnonzero(mask[top + int(round(frac * (length - 1)))])
        return float(cols[-1] - cols[0] + 1) if cols.size else 0.0

    return {
        "garment_width_chest": width_at(0.25),
        "garment_width_waist": width_at(0.5),
        "garment_width_hem": width_at(0.95),
        "garment_length": float(length),
    }


def size_ratios(category: str, body: dict[str, float], garment: dict[str, float]) -> dict[str, float]:
    """Garment-to-body width and length ratios for the category (NaN when a body figure is missing)."""
    if category == "lower_body":
        width, gwidth = body["hip_width"], garment["garment_width_waist"]
        length = body["leg_length"]
    else:
        width, gwidth = body["shoulder_width"], garment["garment_width_chest"]
        length = body["torso_length"] if category == "upper_body" else body["torso_length"] + body["leg_length"]

    def ratio(a: float, b: float) -> float:
        return a / b if b and not math.isnan(a) and not math.isnan(b) else NAN

    return {
        "garment_to_body_width_ratio": ratio(gwidth, width),
        "garment_to_body_length_ratio": ratio(garment["garment_length"], length),
    }


def keypoint_stats(kp: np.ndarray) -> dict[str, float]:
    """How many BODY_25 points were seen and their mean confidence."""
    seen = kp[:, 2] > 0
    return {
        "keypoint_count": float(seen.sum()),
        "keypoint_confidence_mean": float(kp[seen, 2].mean()) if seen.any() else 0.0,
    }
