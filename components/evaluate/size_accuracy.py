"""Size accuracy: does the generated garment fit the way the pair asked for (tight / fitted / loose)?

The garment's region in a try-on image (the colour extractor of garment_region.py, the same on the ground
truth and on the generated image, so its bias cancels) is measured against the person's body with the same
code annotate uses for the worn region (components/fit `worn_fit_ratios`), labelled with `classify_fit`, and
compared with the requested label. Per scope, size accuracy is the fraction of pairs with a requested label
whose generated label equals it.

What is requested: on a paired pair the fit the person wears in the ground truth (measured on it like the
result), on an unpaired pair the fit the garment is worn with in its own photo (its manifest fit ratios,
the ratios the generator is asked for).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from components.fit.labels import classify_fit
from components.fit.params import FitParams
from components.fit.ratios import FitRatios, worn_fit_ratios


@dataclass(frozen=True)
class FitMeasure:
    """One region's worn ratios and the label they get."""

    ratios: FitRatios
    label: str | None


def scaled_keypoints(path: Path | None, original: tuple[int, int], size: tuple[int, int]) -> np.ndarray | None:
    """The person's BODY_25 keypoints (OpenPose JSON at the photo's size) at evaluation size, or None."""
    if path is None or not Path(path).is_file():
        return None
    from components.annotate.keypoints import read_body25

    kp = read_body25(Path(path)).astype(np.float64)
    if not (kp[:, 2] > 0).any():
        return None
    # Pixel centres map like the images' resize does.
    kp[:, 0] = (kp[:, 0] + 0.5) * size[0] / original[0] - 0.5
    kp[:, 1] = (kp[:, 1] + 0.5) * size[1] / original[1] - 0.5
    return kp


def measure_fit(category: str, region: np.ndarray, keypoints: np.ndarray | None, thresholds: FitParams
                ) -> FitMeasure:
    """Worn ratios and fit label of a garment region (bool HxW) on the person whose keypoints are given.

    No person mask: the region was found inside the repainted area already, and the person's own mask would
    clip a garment generated looser than the one in the photo.
    """
    if keypoints is None:
        return FitMeasure(FitRatios.unmeasured(), None)
    ratios = worn_fit_ratios(category, region, keypoints, None)
    return FitMeasure(ratios, classify_fit(category, ratios, thresholds))


def requested_label(category: str, ratios: tuple[float, float, float] | None, thresholds: FitParams) -> str | None:
    """The label a pair's requested ratios stand for (None when unknown)."""
    if ratios is None or not math.isfinite(ratios[0]):
        return None
    return classify_fit(category, FitRatios(*ratios), thresholds)


def size_accuracy(requested: list[str | None], generated: list[str | None]) -> tuple[float, int]:
    """(fraction of pairs with a requested label whose generated label equals it, how many had one); NaN for 0.

    A generated garment that cannot be measured (no region found) counts as a miss: it did not fit as asked."""
    judged = [(r, g) for r, g in zip(requested, generated) if r is not None]
    if not judged:
        return math.nan, 0
    return sum(r == g for r, g in judged) / len(judged), len(judged)
