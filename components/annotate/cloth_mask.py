"""Garment mask (`cloth-mask`) for product images, by a classical method that needs no model.

The background colour is the median of a thin border band (white, grey or coloured studio backdrops);
pixels far from it in CIE Lab are garment. Holes inside the garment (white prints, buttons in the
background colour) are filled, specks removed, and only large components kept. Limits: a garment the
same colour as its backdrop, or a photo whose garment touches every edge, is quarantined, not guessed.
"""

from __future__ import annotations

import cv2
import numpy as np

from components.annotate.params import ClothMaskRules
from components.errors import Quarantine

VERSION = "1"


def cloth_mask(image: np.ndarray, rules: ClothMaskRules = ClothMaskRules()) -> np.ndarray:
    """Bool HxW garment mask of an RGB uint8 product image; Quarantine when no garment separates from the backdrop."""
    h, w = image.shape[:2]
    lab = cv2.cvtColor(image, cv2.COLOR_RGB2LAB).astype(np.float32)
    b = max(1, min(rules.border_px, h // 4, w // 4))
    border = np.concatenate([lab[:b].reshape(-1, 3), lab[-b:].reshape(-1, 3),
                             lab[:, :b].reshape(-1, 3), lab[:, -b:].reshape(-1, 3)])
    backdrop = np.median(border, axis=0)
    # OpenCV's 8-bit Lab scales L to 0-255; bring it back to 0-100 so the distance is in Lab units.
    scale = np.array([100 / 255, 1.0, 1.0], np.float32)
    distance = np.linalg.norm((lab - backdrop) * scale, axis=2)
    border_distance = np.linalg.norm((border - backdrop) * scale, axis=1)
    if np.mean(border_distance > rules.color_distance) > 0.5:
        raise Quarantine("garment image: no uniform backdrop along the border (garment fills the frame or busy scene)")
    fg = (distance > rules.color_distance).astype(np.uint8)
    k = max(3, (min(h, w) // 128) | 1)
    kernel = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (k, k))
    fg = cv2.morphologyEx(fg, cv2.MORPH_OPEN, kernel)
    fg = cv2.morphologyEx(fg, cv2.MORPH_CLOSE, kernel, iterations=2)
    fg = _fill_holes(fg)
    fg = _large_components(fg, rules.min_area_fraction * h * w)
    if fg.mean() < rules.min_area_fraction:
        raise Quarantine(f"garment image: no garment found against the backdrop ({fg.mean():.1%} of the image)")
    return fg.astype(bool)


def _fill_holes(mask: np.ndarray) -> np.ndarray:
    """`mask` with every background region not connected to the border filled."""
    h, w = mask.shape
    flood = np.zeros((h + 2, w + 2), np.uint8)
    flood[1:-1, 1:-1] = mask
    seeds = np.zeros((h + 4, w + 4), np.uint8)
    cv2.floodFill(flood, seeds, (0, 0), 2)
    return ((flood[1:-1, 1:-1] != 2)).astype(np.uint8)


def _large_components(mask: np.ndarray, min_area: float) -> np.ndarray:
    """Keep the largest component and any other at least `min_area` pixels."""
    count, labels, stats, _ = cv2.connectedComponentsWithStats(mask, connectivity=8)
    if count <= 1:
        return mask
    areas = stats[1:, cv2.CC_STAT_AREA]
    keep = [i + 1 for i, a in enumerate(areas) if a >= min_area or a == areas.max()]
    return np.isin(labels, keep).astype(np.uint8)
