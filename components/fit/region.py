"""The garment region a different fit would cover: a worn region rescaled about where the garment hangs from.

Pure numpy, shared by evaluate (the expected region of an unpaired pair) and train (the size map a size-aware
model reads), so what a model is asked for and what it is measured against are drawn the same way.
"""

from __future__ import annotations

import numpy as np


def scale_region(mask: np.ndarray, scale_x: float, scale_y: float) -> np.ndarray:
    """`mask` scaled about the top-centre of its bounding box (where a garment hangs from: shoulders or waist)."""
    m = np.asarray(mask, bool)
    if not m.any() or (scale_x == 1.0 and scale_y == 1.0):
        return m.copy()
    ys, xs = np.nonzero(m)
    # Continuous coordinates (pixel i spans [i, i+1)): anchor on the box's top edge, at its horizontal centre.
    anchor_y, anchor_x = float(ys.min()), 0.5 * (xs.min() + xs.max() + 1)
    h, w = m.shape
    yy, xx = np.mgrid[0:h, 0:w]
    # Inverse mapping: each output pixel centre takes the source pixel it came from before scaling.
    src_y = np.floor(anchor_y + (yy + 0.5 - anchor_y) / scale_y).astype(int)
    src_x = np.floor(anchor_x + (xx + 0.5 - anchor_x) / scale_x).astype(int)
    inside = (src_y >= 0) & (src_y < h) & (src_x >= 0) & (src_x < w)
    out = np.zeros_like(m)
    out[inside] = m[src_y[inside], src_x[inside]]
    return out
