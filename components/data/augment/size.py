"""Size augmentation: a paired sample with its garment rescaled relative to the same body.

The worn garment (the parse's garment labels for the category) is scaled about the top centre of its box,
where a garment hangs from (shoulders or waist), and painted over the person photo from its own pixels; the
flat garment photo and its cloth mask are scaled by the same factors about their box centre (so they stay in
frame). Parse (and ATR parse), person mask, agnostic mask and agnostic image follow the new region, the
agnostic mask grown to cover it; keypoints and DensePose (the body) stay as they are.

A smaller garment uncovers a band of the photo whose true pixels nobody saw: it is filled by OpenCV's Telea
inpainting from the surrounding pixels and labelled with the nearest label that was not garment. That band
is a plausible fill, not the body, so the width range's lower end should stay close to 1 (params.yaml
fit.size_augment.scale).
"""

from __future__ import annotations

from dataclasses import replace

import numpy as np
from scipy import ndimage

from components.data.augment.sample import SampleArrays
from components.fit.columns import worn_region
from components.fit.params import ScaleRange

INPAINT_RADIUS_PX = 3


def draw_scale(limits: ScaleRange, min_width_change: float, rng: np.random.Generator) -> tuple[float, float]:
    """(width scale, length scale) drawn uniformly from `limits`; the width at least `min_width_change` from 1
    when the range holds such values on either side (a variant whose fit barely moved teaches nothing)."""
    lo, hi = limits.width
    sides = [(lo, min(hi, 1 - min_width_change)), (max(lo, 1 + min_width_change), hi)]
    sides = [(a, b) for a, b in sides if a <= b]
    if sides:
        weights = np.array([b - a for a, b in sides]) + 1e-9
        a, b = sides[int(rng.choice(len(sides), p=weights / weights.sum()))]
        sx = float(rng.uniform(a, b))
    else:
        sx = float(rng.uniform(lo, hi))
    sy = float(rng.uniform(*limits.length))
    return round(sx, 4), round(sy, 4)


def _source_grid(shape: tuple[int, int], anchor: tuple[float, float], sx: float, sy: float):
    """Continuous source coordinates (x, y) of every output pixel centre under a scale about `anchor`."""
    h, w = shape
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float32)
    ax, ay = anchor
    return ax + (xx + 0.5 - ax) / sx, ay + (yy + 0.5 - ay) / sy


def scaled_region(region: np.ndarray, sx: float, sy: float) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """`region` scaled about the top centre of its box, and the (row, col) source pixel of every output pixel
    (components/fit/region.py scale_region's convention)."""
    ys, xs = np.nonzero(region)
    anchor = (0.5 * (xs.min() + xs.max() + 1), float(ys.min()))
    src_x, src_y = _source_grid(region.shape, anchor, sx, sy)
    h, w = region.shape
    row = np.clip(np.floor(src_y).astype(int), 0, h - 1)
    col = np.clip(np.floor(src_x).astype(int), 0, w - 1)
    inside = (src_y >= 0) & (src_y < h) & (src_x >= 0) & (src_x < w)
    return inside & region[row, col], row, col


def _remap(image: np.ndarray, anchor: tuple[float, float], sx: float, sy: float, nearest: bool,
           fill) -> np.ndarray:
    import cv2

    src_x, src_y = _source_grid(image.shape[:2], anchor, sx, sy)
    # cv2.remap samples at pixel centres on integer coordinates: shift the continuous ones by half a pixel.
    return cv2.remap(np.ascontiguousarray(image), src_x - 0.5, src_y - 0.5,
                     cv2.INTER_NEAREST if nearest else cv2.INTER_LINEAR, borderMode=cv2.BORDER_CONSTANT,
                     borderValue=fill)


def rescale_garment(sample: SampleArrays, category: str, sx: float, sy: float, agnostic_margin_px: int
                    ) -> SampleArrays:
    """`sample` with its worn and flat garment scaled by (sx, sy); ValueError when there is nothing to scale."""
    import cv2

    from components.annotate.regions import agnostic_image
    from components.annotate.frame import PAD_RGB

    parse = sample.maps.get("parse")
    if parse is None:
        raise ValueError("no parse map to find the worn garment in")
    worn = worn_region(category, parse)
    if not worn.any():
        raise ValueError(f"no {category} garment in the parse")
    new_region, row, col = scaled_region(worn, sx, sy)
    vacated = worn & ~new_region
    # Pixels that were garment neither before nor after keep their value; vacated ones take the nearest of them.
    _, (near_r, near_c) = ndimage.distance_transform_edt(worn | new_region, return_indices=True)

    def relabel(labels: np.ndarray) -> np.ndarray:
        out = labels.copy()
        out[new_region] = labels[row, col][new_region]
        out[vacated] = labels[near_r, near_c][vacated]
        return out

    person = sample.person.copy()
    ys, xs = np.nonzero(worn)
    anchor = (0.5 * (xs.min() + xs.max() + 1), float(ys.min()))
    warped = _remap(sample.person, anchor, sx, sy, nearest=False, fill=PAD_RGB)
    person[new_region] = warped[new_region]
    if vacated.any():
        person = cv2.inpaint(person, vacated.astype(np.uint8), INPAINT_RADIUS_PX, cv2.INPAINT_TELEA)
    maps = dict(sample.maps)
    maps["parse"] = relabel(parse)
    if "parse_atr" in maps:
        maps["parse_atr"] = relabel(maps["parse_atr"])
    if "person_mask" in maps:
        pm = maps["person_mask"] | new_region
        pm[vacated & (maps["parse"] == 0)] = False  # uncovered background is not the person
        maps["person_mask"] = pm
    if "agnostic_mask" in maps:
        grown = new_region
        if agnostic_margin_px > 0:
            kernel = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (2 * agnostic_margin_px + 1,) * 2)
            grown = cv2.dilate(new_region.astype(np.uint8), kernel).astype(bool)
        maps["agnostic_mask"] = maps["agnostic_mask"] | grown
        if "agnostic" in maps:
            maps["agnostic"] = agnostic_image(person, maps["agnostic_mask"])
    garment, cloth = sample.garment, maps.get("cloth_mask")
    if cloth is not None and cloth.any():
        gy, gx = np.nonzero(cloth)
        centre = (0.5 * (gx.min() + gx.max() + 1), 0.5 * (gy.min() + gy.max() + 1))
        garment = _remap(sample.garment, centre, sx, sy, nearest=False, fill=PAD_RGB)
        maps["cloth_mask"] = _remap(cloth.astype(np.uint8), centre, sx, sy, nearest=True, fill=0).astype(bool)
    return replace(sample, person=person, garment=garment, maps=maps)
