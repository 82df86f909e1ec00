"""Fit metrics on constructed masks with known answers."""

from __future__ import annotations

import math

import numpy as np
import pytest

from components.evaluate.fit import (
    directed_boundary_distance,
    expected_unpaired_region,
    geometric_fit_deviation,
    mask_boundary,
    mask_iou,
)


def square(size: int, top: int, left: int, side: int) -> np.ndarray:
    m = np.zeros((size, size), bool)
    m[top : top + side, left : left + side] = True
    return m


def test_identical_masks_have_iou_one_and_gfd_zero():
    m = square(64, 10, 12, 30)
    assert mask_iou(m, m) == 1.0
    assert geometric_fit_deviation(m, m, torso_length=40.0) == 0.0


def test_iou_of_half_overlapping_rectangles_is_one_third():
    a = np.zeros((10, 20), bool)
    b = np.zeros((10, 20), bool)
    a[:, 0:10] = True
    b[:, 5:15] = True
    assert mask_iou(a, b) == pytest.approx(5 / 15)


def test_boundary_of_a_square_is_its_ring():
    ring = mask_boundary(square(20, 5, 5, 6))
    assert ring.sum() == 4 * (6 - 1)
    assert not ring[7, 7]


def test_concentric_squares_give_the_analytic_gfd():
    # inner side a, outer side a + 2k: every inner boundary pixel is exactly k from the outer boundary;
    # outer boundary pixels beyond the inner square's span are sqrt(d^2 + k^2) from its corner.
    a, k, torso = 20, 4, 50.0
    inner, outer = square(64, 20, 20, a), square(64, 20 - k, 20 - k, a + 2 * k)
    assert directed_boundary_distance(inner, outer) == pytest.approx(k)
    corner_rows = sum(math.hypot(d, k) for d in range(1, k + 1))
    corner_cols = sum(math.hypot(d, k) for d in range(1, k))
    n_outer = 4 * (a + 2 * k - 1)
    outer_mean = (4 * a * k + 4 * corner_rows + 4 * corner_cols) / n_outer
    assert directed_boundary_distance(outer, inner) == pytest.approx(outer_mean)
    expected = 0.5 * (k + outer_mean) / torso
    assert geometric_fit_deviation(inner, outer, torso) == pytest.approx(expected)
    assert geometric_fit_deviation(outer, inner, torso) == pytest.approx(expected)


def test_gfd_grows_with_the_shift_and_shrinks_with_a_longer_torso():
    base = square(80, 20, 20, 30)
    shifted = [np.roll(base, s, axis=1) for s in (2, 5, 10)]
    values = [geometric_fit_deviation(m, base, 40.0) for m in shifted]
    assert values[0] < values[1] < values[2]
    assert geometric_fit_deviation(shifted[1], base, 80.0) == pytest.approx(values[1] / 2)


def test_gfd_of_a_missing_garment_is_the_diagonal_over_torso():
    empty = np.zeros((30, 40), bool)
    assert geometric_fit_deviation(empty, square(40, 5, 5, 10)[:30], 10.0) == pytest.approx(50 / 10)
    assert geometric_fit_deviation(empty, empty, 10.0) == 0.0


def test_gfd_rejects_a_non_positive_torso():
    m = square(10, 2, 2, 4)
    with pytest.raises(ValueError):
        geometric_fit_deviation(m, m, 0.0)


def test_expected_unpaired_region_uses_the_ratio_of_ratios_and_says_when_it_could_not():
    own = square(100, 10, 40, 20)
    region, known = expected_unpaired_region(own, 0.5, 0.5, 0.75, 0.5)
    assert known
    xs = np.nonzero(region)[1]
    assert xs.max() - xs.min() + 1 == pytest.approx(30, abs=1)
    region, known = expected_unpaired_region(own, 0.5, None, 0.75, 0.5)
    assert not known
    assert np.nonzero(region)[0].max() - 10 + 1 == 20  # length unchanged without a length ratio
