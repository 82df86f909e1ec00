"""CatVTON's AutoMasker rules: the agnostic mask from SCHP LIP + ATR parsing and the DensePose part map.

Pure functions on label maps. The rule tables (which labels are masked, which protected, per garment part)
are CatVTON's published ones, written here by label name so LIP and ATR ids never get mixed up. Kernel sizes
scale with the image (max side / 250 for dilation, / 25 for the blur), as in CatVTON.
"""

from __future__ import annotations

import cv2
import numpy as np

from components.annotate.maps import BodyMaps
from components.annotate.networks.schp import ATR, LIP
from components.annotate.params import AutoMaskerRules, MaskRules
from components.errors import Quarantine

LIP_IDS = {name: i for i, name in enumerate(LIP.labels)}
ATR_IDS = {name: i for i, name in enumerate(ATR.labels)}

# DensePose I-map part groups (ids 1-24, see networks.densepose.PART_NAMES).
DENSE_GROUPS: dict[str, tuple[int, ...]] = {
    "torso": (1, 2),
    "hands": (3, 4),
    "feet": (5, 6),
    "thighs": (7, 8, 9, 10),
    "legs": (11, 12, 13, 14),
    "big_arms": (15, 16, 17, 18),
    "forearms": (19, 20, 21, 22),
    "face": (23, 24),
}

# Our garment categories -> CatVTON's mask types.
PART_OF_CATEGORY = {"upper_body": "upper", "lower_body": "lower", "dresses": "overall"}

# Body labels kept for each part (looked up in both LIP and ATR).
PROTECT_BODY = {"upper": ("Left-leg", "Right-leg"), "lower": ("Right-arm", "Left-arm", "Face"), "overall": ()}
# Other garments kept for each part, per label set.
PROTECT_CLOTH = {
    "upper": {"lip": ("Skirt", "Pants"), "atr": ("Skirt", "Pants")},
    "lower": {"lip": ("Upper-clothes", "Coat"), "atr": ("Upper-clothes",)},
    "overall": {"lip": (), "atr": ()},
}
# Garment labels always masked for each part (both label sets).
MASK_CLOTH = {
    "upper": ("Upper-clothes", "Coat", "Dress", "Jumpsuits"),
    "lower": ("Pants", "Skirt", "Dress", "Jumpsuits"),
    "overall": ("Upper-clothes", "Dress", "Pants", "Skirt", "Coat", "Jumpsuits"),
}
# DensePose areas added to the mask (so the new garment may be larger than the old one).
MASK_DENSE = {
    "upper": ("torso", "big_arms", "forearms"),
    "lower": ("thighs", "legs"),
    "overall": ("torso", "thighs", "legs", "big_arms", "forearms"),
}
ACCESSORIES = ("Hat", "Glove", "Sunglasses", "Bag", "Left-shoe", "Right-shoe", "Scarf", "Socks")
LIMBS = ("Left-arm", "Right-arm", "Left-leg", "Right-leg")


def labels_in(parse: np.ndarray, names: tuple[str, ...], ids: dict[str, int]) -> np.ndarray:
    """Bool map of pixels whose label is one of `names` (names the label set lacks are skipped)."""
    wanted = [ids[n] for n in names if n in ids]
    return np.isin(parse, wanted) if wanted else np.zeros(parse.shape, bool)


def both(lip: np.ndarray, atr: np.ndarray, names: tuple[str, ...]) -> np.ndarray:
    """Pixels labelled one of `names` in the LIP map or in the ATR map."""
    return labels_in(lip, names, LIP_IDS) | labels_in(atr, names, ATR_IDS)


def dense_parts(parts: np.ndarray, groups: tuple[str, ...]) -> np.ndarray:
    """Bool map of DensePose pixels in the named part groups."""
    ids = [i for g in groups for i in DENSE_GROUPS[g]]
    return np.isin(parts, ids)


def odd_kernel(size: int) -> int:
    """The kernel side CatVTON uses: `size`, bumped to the next odd number (at least 1)."""
    size = max(int(size), 1)
    return size if size % 2 == 1 else size + 1


def dilate(mask: np.ndarray, kernel: int, iterations: int = 1) -> np.ndarray:
    """Binary dilation by a kernel x kernel square."""
    if kernel <= 1 or iterations <= 0:
        return mask.astype(bool)
    out = cv2.dilate(mask.astype(np.uint8), np.ones((kernel, kernel), np.uint8), iterations=iterations)
    return out.astype(bool)


def convex_hulls(mask: np.ndarray) -> np.ndarray:
    """Union of the filled convex hulls of each outer contour of `mask`."""
    contours, _ = cv2.findContours(mask.astype(np.uint8), cv2.RETR_EXTERNAL, cv2.CHAIN_APPROX_SIMPLE)
    out = np.zeros(mask.shape, np.uint8)
    for c in contours:
        cv2.fillPoly(out, [cv2.convexHull(c)], 1)
    return out.astype(bool)


def grow_at_quarter_scale(mask: np.ndarray, kernel: int, iterations: int) -> np.ndarray:
    """Dilate at 1/4 resolution and scale back (nearest): CatVTON's cheap, coarse growth of the DensePose area."""
    h, w = mask.shape
    small = cv2.resize(mask.astype(np.uint8), None, fx=0.25, fy=0.25, interpolation=cv2.INTER_NEAREST)
    small = dilate(small, kernel, iterations).astype(np.uint8)
    return cv2.resize(small, (w, h), interpolation=cv2.INTER_NEAREST).astype(bool)


def agnostic_mask_from_parsing(
    category: str, lip: np.ndarray, atr: np.ndarray, densepose_parts: np.ndarray, rules: AutoMaskerRules
) -> np.ndarray:
    """CatVTON's agnostic mask (bool HxW) for a `category` garment from LIP, ATR and DensePose I maps."""
    if category not in PART_OF_CATEGORY:
        raise ValueError(f"unknown garment category {category!r}")
    part = PART_OF_CATEGORY[category]
    lip, atr, dp = np.asarray(lip), np.asarray(atr), np.asarray(densepose_parts)
    if not (lip.shape == atr.shape == dp.shape):
        raise ValueError(f"maps differ in size: lip {lip.shape}, atr {atr.shape}, densepose {dp.shape}")
    h, w = lip.shape
    k_dilate = odd_kernel(max(h, w) // rules.dilate_divisor)
    k_blur = odd_kernel(max(h, w) // rules.blur_divisor)

    # Strong protection: hands and feet (DensePose, grown, but only where the parsers see bare limbs) and the face.
    hands_feet = dilate(dense_parts(dp, ("hands", "feet")), k_dilate) & both(lip, atr, LIMBS)
    strong_protect = hands_feet | labels_in(lip, ("Face",), LIP_IDS)
    # Weak protection: body parts and garments the try-on must keep, hair, accessories.
    weak_protect = (
        both(lip, atr, PROTECT_BODY[part])
        | labels_in(lip, PROTECT_CLOTH[part]["lip"], LIP_IDS)
        | labels_in(atr, PROTECT_CLOTH[part]["atr"], ATR_IDS)
        | both(lip, atr, ("Hair",))
        | both(lip, atr, ACCESSORIES)
        | strong_protect
    )
    strong_mask = both(lip, atr, MASK_CLOTH[part])
    background = labels_in(lip, ("Background",), LIP_IDS) & labels_in(atr, ("Background",), ATR_IDS)
    dense = grow_at_quarter_scale(dense_parts(dp, MASK_DENSE[part]), k_dilate, rules.dense_dilate_iterations)

    mask = (~weak_protect & ~background) | dense
    mask = convex_hulls(mask) & ~weak_protect  # hull hides the old garment's silhouette
    blurred = cv2.GaussianBlur(mask.astype(np.uint8) * 255, (k_blur, k_blur), 0)
    mask = blurred >= rules.blur_threshold
    mask = (mask | strong_mask) & ~strong_protect
    return dilate(mask, k_dilate)


def agnostic_mask(category: str, maps: BodyMaps, params: MaskRules) -> np.ndarray:
    """The AutoMasker mask for `maps` (needs parse_lip, parse_atr, densepose_parts); Quarantine when too small."""
    if not maps.has("parse_lip", "parse_atr", "densepose_parts"):
        raise ValueError("automasker needs parse_lip, parse_atr and densepose_parts")
    mask = agnostic_mask_from_parsing(category, maps.parse_lip, maps.parse_atr, maps.densepose_parts, params.automasker)
    if mask.mean() < params.min_area_fraction:
        raise Quarantine(
            f"{category} agnostic mask too small ({mask.mean():.1%} of the image): the garment region is not in the photo"
        )
    return mask
