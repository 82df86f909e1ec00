"""Fit metrics on binary garment masks: mask IoU and the Geometric Fit Deviation (GFD).

Pure functions on numpy boolean arrays (HxW); the definitions are in components/evaluate/README.md.
"""

from __future__ import annotations

import math

import numpy as np
from scipy import ndimage

from components.fit.region import scale_region


def mask_iou(result: np.ndarray, expected: np.ndarray) -> float:
    """Intersection over union of two boolean masks; 1.0 when both are empty (nothing to disagree on)."""
    a, b = np.asarray(result, bool), np.asarray(expected, bool)
    if a.shape != b.shape:
        raise ValueError(f"mask shapes differ: {a.shape} vs {b.shape}")
    union = np.logical_or(a, b).sum()
    if union == 0:
        return 1.0
    return float(np.logical_and(a, b).sum() / union)


def mask_boundary(mask: np.ndarray) -> np.ndarray:
    """Pixels of `mask` with at least one 4-neighbour outside it (the image border counts as outside)."""
    m = np.asarray(mask, bool)
    padded = np.pad(m, 1, constant_values=False)
    eroded = ndimage.binary_erosion(padded, structure=ndimage.generate_binary_structure(2, 1))[1:-1, 1:-1]
    return m & ~eroded


def directed_boundary_distance(source: np.ndarray, target: np.ndarray) -> float:
    """Mean Euclidean distance (pixels) from each boundary pixel of `source` to the nearest one of `target`."""
    src, tgt = mask_boundary(source), mask_boundary(target)
    if not src.any() or not tgt.any():
        raise ValueError("both masks need a boundary")
    # distance_transform_edt measures the distance to the nearest zero, so zeros mark the target boundary.
    dist = ndimage.distance_transform_edt(~tgt)
    return float(dist[src].mean())


def geometric_fit_deviation(result: np.ndarray, expected: np.ndarray, torso_length: float) -> float:
    """GFD: symmetric mean boundary distance between the two masks, divided by the torso length (pixels).

    0 for identical masks; when exactly one mask is empty the distance is undefined and GFD is the image
    diagonal over the torso length (the largest deviation the image can hold).
    """
    if not torso_length or not math.isfinite(torso_length) or torso_length <= 0:
        raise ValueError(f"torso_length must be a positive number of pixels, got {torso_length!r}")
    a, b = np.asarray(result, bool), np.asarray(expected, bool)
    if a.shape != b.shape:
        raise ValueError(f"mask shapes differ: {a.shape} vs {b.shape}")
    if not a.any() and not b.any():
        return 0.0
    if not a.any() or not b.any():
        return math.hypot(*a.shape) / torso_length
    symmetric = 0.5 * (directed_boundary_distance(a, b) + directed_boundary_distance(b, a))
    return symmetric / torso_length


def expected_unpaired_region(
    own_region: np.ndarray,
    own_width_ratio: float | None,
    own_length_ratio: float | None,
    new_width_ratio: float | None,
    new_length_ratio: float | None,
) -> tuple[np.ndarray, bool]:
    """The region a new garment should cover on this person: the person's own garment region scaled by the
    ratio of the garments' garment-to-body ratios; returns (region, True if both ratios were known)."""

    def factor(new: float | None, own: float | None) -> float | None:
        ok = all(v is not None and math.isfinite(v) and v > 0 for v in (new, own))
        return float(new) / float(own) if ok else None

    sx, sy = factor(new_width_ratio, own_width_ratio), factor(new_length_ratio, own_length_ratio)
    known = sx is not None and sy is not None
    return scale_region(own_region, sx or 1.0, sy or 1.0), known
