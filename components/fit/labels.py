"""Fit labels from worn ratios (tight / fitted / loose), and the ratios a requested label stands for."""

from __future__ import annotations

import math

__all__ = ["FIT_LABELS", "classify_fit", "representative_ratios"]

from components.fit import FIT_LABELS
from components.fit.params import FitParams, FitThresholds
from components.fit.ratios import FitRatios



def _thresholds(category: str, thresholds: FitParams | FitThresholds) -> FitThresholds:
    return thresholds.for_category(category) if isinstance(thresholds, FitParams) else thresholds


def classify_fit(category: str, ratios: FitRatios, thresholds: FitParams | FitThresholds) -> str | None:
    """tight below `tight_below`, loose above `loose_above`, else fitted, on the worn width ratio; None when NaN.

    `thresholds` is the whole `fit` section (FitParams) or one category's FitThresholds."""
    t = _thresholds(category, thresholds)
    w = ratios.width
    if w is None or not math.isfinite(w):
        return None
    if w < t.tight_below:
        return "tight"
    if w > t.loose_above:
        return "loose"
    return "fitted"


def representative_ratios(category: str, label: str, thresholds: FitParams | FitThresholds) -> FitRatios:
    """The ratios a user asking for `label` gets: the centre of the label's width band (the open bands are
    taken as wide as the fitted one), the typical length, and the typical span scaled with the width."""
    if label not in FIT_LABELS:
        raise ValueError(f"unknown fit label {label!r} (one of {', '.join(FIT_LABELS)})")
    t = _thresholds(category, thresholds)
    band = t.loose_above - t.tight_below
    fitted = 0.5 * (t.tight_below + t.loose_above)
    width = {"tight": t.tight_below - 0.5 * band, "fitted": fitted, "loose": t.loose_above + 0.5 * band}[label]
    # A band below zero would be no garment at all: keep a tight request above a tenth of the threshold.
    width = max(width, 0.1 * t.tight_below)
    return FitRatios(width=width, length=t.typical_length, span=t.typical_span * width / fitted)
