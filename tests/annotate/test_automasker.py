"""CatVTON AutoMasker rules on constructed LIP / ATR / DensePose maps, with exact expected pixels."""

from __future__ import annotations

import numpy as np
import pytest

from components.annotate.automasker import (
    ATR_IDS, LIP_IDS, agnostic_mask, agnostic_mask_from_parsing, convex_hulls, odd_kernel,
)
from components.annotate.maps import BodyMaps
from components.annotate.params import AutoMaskerRules, MaskRules
from components.errors import Quarantine

# Kernels of 1 (no dilation, no blur) so every rule's effect is visible pixel for pixel on small maps.
EXACT = AutoMaskerRules(dilate_divisor=10_000, blur_divisor=10_000, blur_threshold=128, dense_dilate_iterations=0)
H, W = 40, 40


def scene():
    """A person: face rows 2-7, upper clothes rows 10-19 (cols 12-27), pants rows 20-33, arms beside the torso."""
    lip = np.zeros((H, W), np.uint8)
    atr = np.zeros((H, W), np.uint8)
    dp = np.zeros((H, W), np.uint8)
    lip[2:8, 16:24] = LIP_IDS["Face"]
    atr[2:8, 16:24] = ATR_IDS["Face"]
    lip[10:20, 12:28] = LIP_IDS["Upper-clothes"]
    atr[10:20, 12:28] = ATR_IDS["Upper-clothes"]
    lip[20:34, 14:26] = LIP_IDS["Pants"]
    atr[20:34, 14:26] = ATR_IDS["Pants"]
    lip[10:24, 8:12] = LIP_IDS["Right-arm"]
    atr[10:24, 8:12] = ATR_IDS["Right-arm"]
    lip[10:24, 28:32] = LIP_IDS["Left-arm"]
    atr[10:24, 28:32] = ATR_IDS["Left-arm"]
    dp[10:20, 12:28] = 2  # torso front
    dp[10:22, 8:12] = 16  # upper arm right front
    dp[22:24, 8:12] = 3  # right hand
    dp[20:34, 14:26] = 9  # upper legs
    return lip, atr, dp


def test_upper_covers_clothes_and_dense_arms_but_keeps_face_hands_and_pants():
    lip, atr, dp = scene()
    mask = agnostic_mask_from_parsing("upper_body", lip, atr, dp, EXACT)
    assert mask[10:20, 12:28].all()  # the old top
    assert mask[10:22, 8:12].all()  # upper arm (DensePose area added)
    assert not mask[22:24, 8:12].any()  # hand: strong protection (DensePose hand on a parsed arm)
    assert not mask[2:8, 16:24].any()  # face
    assert not mask[20:34, 14:26].any()  # pants belong to another garment: kept
    assert not mask[:, :8].any() and not mask[34:].any()  # background far from the hull


def test_lower_covers_pants_and_thighs_but_keeps_the_top_and_arms():
    lip, atr, dp = scene()
    mask = agnostic_mask_from_parsing("lower_body", lip, atr, dp, EXACT)
    assert mask[20:34, 14:26].all()
    assert not mask[10:20, 12:28].any()
    assert not mask[10:24, 8:12].any() and not mask[10:24, 28:32].any()
    assert not mask[2:8].any()


def test_dresses_cover_top_and_bottom_and_hull_fills_the_gap_between():
    lip, atr, dp = scene()
    lip[20, 14:26] = 0  # a background seam between top and pants
    atr[20, 14:26] = 0
    mask = agnostic_mask_from_parsing("dresses", lip, atr, dp, EXACT)
    assert mask[10:34, 14:26].all()  # seam closed by the convex hull
    assert not mask[2:8, 16:24].any()


def test_hair_and_accessories_are_protected_even_inside_the_hull():
    lip, atr, dp = scene()
    lip[14:16, 18:20] = LIP_IDS["Scarf"]  # an accessory on the chest
    atr[14:16, 18:20] = ATR_IDS["Scarf"]
    mask = agnostic_mask_from_parsing("upper_body", lip, atr, dp, EXACT)
    assert not mask[14:16, 18:20].any()
    assert mask[13, 18] and mask[16, 19]


def test_hair_seen_by_one_parser_is_protected_inside_the_hull():
    lip, atr, dp = scene()
    plain = agnostic_mask_from_parsing("upper_body", lip, atr, dp, EXACT)
    assert plain[20:22, 12:14].all()  # background between arm and pants, filled by the hull
    atr[20:22, 12:14] = ATR_IDS["Hair"]  # long hair there, seen by ATR only
    mask = agnostic_mask_from_parsing("upper_body", lip, atr, dp, EXACT)
    assert not mask[20:22, 12:14].any()


def test_garment_labels_win_over_weak_protection():
    lip, atr, dp = scene()
    atr[10:12, 20:22] = ATR_IDS["Hair"]  # ATR says hair where LIP says upper clothes
    mask = agnostic_mask_from_parsing("upper_body", lip, atr, dp, EXACT)
    assert mask[10:12, 20:22].all()  # CatVTON ORs the garment labels back after weak protection


def test_dilation_and_blur_scale_with_image_size():
    assert odd_kernel(1000 // 250) == 5 and odd_kernel(768 // 250) == 3 and odd_kernel(0) == 1
    lip, atr, dp = scene()
    big = [np.kron(m, np.ones((25, 25), np.uint8)) for m in (lip, atr, dp)]  # 1000 x 1000
    mask = agnostic_mask_from_parsing("upper_body", *big, AutoMaskerRules())
    rows = np.nonzero(mask[:, 500])[0]
    # Published kernels at 1000 px: dilation 5, blur 41. Above the top (row 250) the DensePose torso grows
    # 2 x 2 px at 1/4 scale (16 px) and the blur adds ~8 px. Below (pants from row 500, weakly protected) the
    # blur and the final dilation still bleed ~10 px: CatVTON re-applies only the strong protection at the end.
    assert 222 <= rows.min() <= 234 and 505 <= rows.max() <= 512


def test_convex_hull_fills_a_concave_shape():
    m = np.zeros((10, 10), bool)
    m[2:8, 2:4] = True
    m[6:8, 2:8] = True  # an L
    hull = convex_hulls(m)
    assert hull[6, 5] and hull[4, 3] and not hull[2, 7]
    assert hull[m].all()


def test_maps_entry_point_quarantines_a_too_small_mask():
    lip, atr, dp = scene()
    maps = BodyMaps(parse_lip=lip, parse_atr=atr, densepose_parts=dp)
    rules = MaskRules(automasker=EXACT, min_area_fraction=0.5)
    with pytest.raises(Quarantine, match="too small"):
        agnostic_mask("upper_body", maps, rules)
    ok = agnostic_mask("upper_body", maps, MaskRules(automasker=EXACT))
    assert ok.dtype == bool and ok.shape == (H, W)
