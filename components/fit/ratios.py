"""Worn fit ratios: how big a garment is ON the person, relative to that same person's body (pure, pixels).

The annotate stage's `garment_to_body_*` ratios (components/annotate/measure.py) divide the width of a flat
product photo by a body measured in another photo at another scale: they compare garment shapes across
samples but say nothing about fit. The ratios here measure the garment region as worn (the parse's garment
labels in the person photo) against the body in the same photo, so 1.3 means "30% wider than the body
reference there" on every sample, whatever the photo's scale: they are the fit.

Body references come from BODY_25 keypoints, not from the person mask: the person mask includes the clothes,
so a loose garment widens it as much as the garment itself and garment/mask width would be ~1 for every fit.
Shoulder width is the distance between the shoulder joints, hip width the distance between the hip joints
(MediaPipe's hip joints sit inside the body, so worn hip ratios run higher than chest ratios; the thresholds
are per category for that reason).

    width   upper_body: garment width at the chest row / shoulder width
            lower_body: garment width at the hip row / hip width
            dresses:    the mean of the two above (a dress is fitted or loose at chest and hips together)
    length  upper_body: garment vertical extent / torso length (neck to mid-hip)
            lower_body: garment vertical extent / leg length (hip-knee-ankle, mean of the legs seen)
            dresses:    garment vertical extent / (torso length + leg length), shoulder to ankle
    span    upper_body, dresses: garment width at the shoulder line / shoulder width
            lower_body: garment width at the waistband (the garment's top rows) / hip width

The chest row is a quarter of the way from the shoulder line to the hip line. A width at a row is the median,
over a band of rows around it (4% of the torso or leg length), of the garment's run that contains the body's
centre line in each row (so a sleeve on an arm held away from the body does not count), or of the row's
whole extent when the centre is not covered (an open jacket). A figure is NaN when a keypoint it needs is
missing or the garment region is empty: no guess.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from components.annotate.keypoints import B
from components.annotate.measure import body_measurements

NAN = float("nan")
CHEST_FROM_SHOULDERS = 0.25  # chest row: this fraction of the way from the shoulder line to the hip line
BAND_FRACTION = 0.04  # rows measured around a body row, as a fraction of the segment it belongs to
WAISTBAND_FRACTION = 0.03  # a bottom's waist line: this far below its top edge (fraction of the leg length)


@dataclass(frozen=True)
class FitRatios:
    """The three worn ratios of one sample (NaN where unmeasurable)."""

    width: float
    length: float
    span: float

    def as_tuple(self) -> tuple[float, float, float]:
        """(width, length, span), the order size conditioning and the manifest columns use."""
        return (self.width, self.length, self.span)

    @classmethod
    def unmeasured(cls) -> "FitRatios":
        """All three NaN."""
        return cls(NAN, NAN, NAN)


def _y(kp: np.ndarray, *names: str) -> float:
    """Mean y of the named points, NaN unless all are present."""
    pts = [kp[B[n]] for n in names]
    return float(np.mean([p[1] for p in pts])) if all(p[2] > 0 for p in pts) else NAN


def _x(kp: np.ndarray, *names: str) -> float:
    pts = [kp[B[n]] for n in names]
    return float(np.mean([p[0] for p in pts])) if all(p[2] > 0 for p in pts) else NAN


def _ratio(a: float, b: float) -> float:
    return a / b if math.isfinite(a) and math.isfinite(b) and b > 0 else NAN


def row_width(region: np.ndarray, y: float, centre_x: float, band: float) -> float:
    """Garment width (pixels) at row `y`: the median over `band` rows of the run through `centre_x` (or the
    row's extent when the centre is not covered); 0 where the garment does not reach; NaN for a NaN row.
    A NaN `band` measures the one row."""
    if not (math.isfinite(y) and math.isfinite(centre_x)):
        return NAN
    h, w = region.shape
    half = max(0, int(round(band / 2))) if math.isfinite(band) else 0  # no segment to size it by: one row
    rows = range(max(0, int(round(y)) - half), min(h, int(round(y)) + half + 1))
    cx = min(max(int(round(centre_x)), 0), w - 1)
    widths = [_run_width(region[r], cx) for r in rows]
    return float(np.median(widths)) if widths else 0.0


def _run_width(row: np.ndarray, cx: int) -> float:
    if not row[cx]:
        cols = np.flatnonzero(row)
        return float(cols[-1] - cols[0] + 1) if cols.size else 0.0
    off = np.flatnonzero(~row)
    left = off[off < cx]
    right = off[off > cx]
    start = int(left[-1]) + 1 if left.size else 0
    stop = int(right[0]) if right.size else row.size
    return float(stop - start)


def worn_fit_ratios(category: str, garment_region: np.ndarray, keypoints: np.ndarray,
                    person_mask: np.ndarray | None) -> FitRatios:
    """The worn width, length and span ratios (module docstring) of a `category` garment on this person.

    `garment_region` (bool HxW) is the garment as worn, e.g. the parse's garment labels for the category;
    `person_mask`, when given, clips it (parse labels off the person are noise)."""
    region = np.asarray(garment_region, bool)
    if person_mask is not None:
        region = region & np.asarray(person_mask, bool)
    kp = np.asarray(keypoints, dtype=np.float64)
    if kp.shape != (25, 3):
        raise ValueError(f"keypoints must be BODY_25 (25x3), got shape {kp.shape}")
    rows = np.flatnonzero(region.any(axis=1))
    if rows.size == 0:
        return FitRatios.unmeasured()
    extent = float(rows[-1] - rows[0] + 1)
    body = body_measurements(kp, person_mask)
    shoulder_y, hip_y = _y(kp, "RShoulder", "LShoulder"), _y(kp, "RHip", "LHip")
    shoulder_x, hip_x = _x(kp, "RShoulder", "LShoulder"), _x(kp, "RHip", "LHip")
    torso, legs = body["torso_length"], body["leg_length"]

    def chest() -> float:
        y = shoulder_y + CHEST_FROM_SHOULDERS * (hip_y - shoulder_y)
        x = 0.5 * (shoulder_x + hip_x)
        return _ratio(row_width(region, y, x, BAND_FRACTION * torso), body["shoulder_width"])

    def hips(band_of: float) -> float:
        return _ratio(row_width(region, hip_y, hip_x, BAND_FRACTION * band_of), body["hip_width"])

    def shoulders() -> float:
        return _ratio(row_width(region, shoulder_y, shoulder_x, BAND_FRACTION * torso), body["shoulder_width"])

    if category == "upper_body":
        return FitRatios(chest(), _ratio(extent, torso), shoulders())
    if category == "lower_body":
        waist_y = float(rows[0]) + WAISTBAND_FRACTION * legs if math.isfinite(legs) else NAN
        span = _ratio(row_width(region, waist_y, hip_x, BAND_FRACTION * legs), body["hip_width"])
        return FitRatios(hips(legs), _ratio(extent, legs), span)
    if category == "dresses":
        return FitRatios(0.5 * (chest() + hips(torso)), _ratio(extent, torso + legs), shoulders())
    raise ValueError(f"unknown garment category {category!r} (one of upper_body, lower_body, dresses)")
