"""Image metrics: PSNR by hand, KID's subset count, FID/KID carrying the n they were computed on."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
from PIL import Image

from components.evaluate.image_metrics import KID_SUBSETS, fid_kid, kid_subsets, psnr_scores
from components.evaluate.metrics_spec import fid_kid_comparability
from components.evaluate.networks import RandomResNetFeatures


def _flat(value: int, size=(16, 12)) -> Image.Image:
    return Image.fromarray(np.full((size[1], size[0], 3), value, np.uint8))


def test_psnr_of_a_uniform_error_is_derived_by_hand():
    # Every channel of every pixel is off by 51/255 = 0.2: MSE 0.04, PSNR = 10 log10(1 / 0.04) = 13.979 dB.
    (value,) = psnr_scores([_flat(100)], [_flat(151)])
    assert value == pytest.approx(10 * math.log10(1 / 0.04), abs=1e-5)  # pixels are float32 in [0, 1]


def test_psnr_of_identical_images_is_the_documented_ceiling_not_infinity():
    assert psnr_scores([_flat(7)], [_flat(7)]) == [pytest.approx(100.0)]


def test_kid_uses_100_subsets_unless_the_sets_hold_fewer_distinct_ones():
    assert KID_SUBSETS == 100
    assert kid_subsets(500, 500, 50) == 100
    assert kid_subsets(3, 3, 2) == 9  # C(3,2) real subsets x C(3,2) fake subsets
    assert kid_subsets(4, 4, 4) == 1


def test_fid_kid_carry_their_counts_and_subsets():
    torch.manual_seed(0)
    reals = [_flat(v) for v in (10, 60, 110)]
    fakes = [_flat(v) for v in (200, 220, 240)]
    d = fid_kid(reals, fakes, RandomResNetFeatures(0), kid_subset_size=2)
    assert (d.n_fake, d.n_real, d.kid_subset_size, d.kid_subsets) == (3, 3, 2, 9)
    assert d.fid > 0 and math.isfinite(d.kid) and d.kid_std >= 0
    one = fid_kid(reals[:1], fakes[:1], RandomResNetFeatures(0))
    assert math.isnan(one.fid) and one.n_fake == 1


def test_fid_kid_are_comparable_with_published_figures_only_calibrated_on_the_full_test_split():
    figures = {"n_paired": 8.0, "n_unpaired": 8.0, "n_real": 8.0, "n_test_split": 8.0}
    assert fid_kid_comparability(figures, calibrated=True) == (
        True, "n=8 paired / 8 unpaired generated vs 8 real; the full test split with the standard weights")
    ok, text = fid_kid_comparability({**figures, "n_test_split": 200.0}, calibrated=True)
    assert not ok and text.endswith("not comparable to published results (8 of the 200 test persons)")
    ok, text = fid_kid_comparability(figures, calibrated=False)
    assert not ok and "uncalibrated feature extractor" in text
    ok, text = fid_kid_comparability({k: v for k, v in figures.items() if k != "n_test_split"}, calibrated=True)
    assert not ok and "size of the full test split unknown" in text
