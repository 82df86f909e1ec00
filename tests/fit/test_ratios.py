"""Worn fit ratios on constructed masks and skeletons of known geometry."""

from __future__ import annotations

import math

import numpy as np
import pytest

from components.annotate.keypoints import B
from components.fit.ratios import FitRatios, row_width, worn_fit_ratios

H, W = 400, 300


def skeleton(shoulder_half: float = 40, hip_half: float = 25, drop: tuple[str, ...] = ()) -> np.ndarray:
    """A standing person centred at x=150: shoulders at y=100, hips at y=200, knees 280, ankles 360."""
    kp = np.zeros((25, 3), np.float32)
    cx = 150.0
    pts = {
        "Neck": (cx, 100), "RShoulder": (cx - shoulder_half, 100), "LShoulder": (cx + shoulder_half, 100),
        "MidHip": (cx, 200), "RHip": (cx - hip_half, 200), "LHip": (cx + hip_half, 200),
        "RKnee": (cx - hip_half, 280), "LKnee": (cx + hip_half, 280),
        "RAnkle": (cx - hip_half, 360), "LAnkle": (cx + hip_half, 360), "Nose": (cx, 60),
    }
    for name, (x, y) in pts.items():
        if name not in drop:
            kp[B[name]] = (x, y, 0.9)
    return kp


def box(x0: int, x1: int, y0: int, y1: int) -> np.ndarray:
    m = np.zeros((H, W), bool)
    m[y0:y1, x0:x1] = True
    return m


def test_a_top_twice_the_shoulder_width_has_width_ratio_two_and_its_length_over_the_torso():
    kp = skeleton(shoulder_half=40)  # shoulder width 80
    top = box(150 - 80, 150 + 80, 95, 215)  # 160 wide, 120 tall; torso (neck to mid-hip) is 100
    r = worn_fit_ratios("upper_body", top, kp, None)
    assert r.width == pytest.approx(2.0)
    assert r.span == pytest.approx(2.0)
    assert r.length == pytest.approx(1.2)


def test_a_top_as_wide_as_the_shoulders_reads_one_and_a_wider_one_reads_more():
    kp = skeleton(shoulder_half=40)
    fitted = worn_fit_ratios("upper_body", box(110, 190, 95, 205), kp, None)
    loose = worn_fit_ratios("upper_body", box(90, 210, 95, 205), kp, None)
    assert fitted.width == pytest.approx(1.0)
    assert loose.width == pytest.approx(1.5)


def test_trousers_measure_width_at_the_hips_span_at_the_waistband_and_length_over_the_legs():
    kp = skeleton(hip_half=25)  # hip width 50, leg length 160
    trousers = box(150 - 40, 150 + 40, 190, 366) | box(150 - 60, 150 + 60, 190, 196)  # a wide waistband
    r = worn_fit_ratios("lower_body", trousers, kp, None)
    assert r.width == pytest.approx(80 / 50)
    assert r.span == pytest.approx(120 / 50)
    assert r.length == pytest.approx(176 / 160)


def test_a_dress_width_is_the_mean_of_its_chest_and_hip_ratios_and_length_is_shoulder_to_ankle():
    kp = skeleton(shoulder_half=40, hip_half=25)
    dress = box(150 - 60, 150 + 60, 100, 360)  # 120 wide: 1.5 shoulder widths, 2.4 hip widths; 260 tall
    r = worn_fit_ratios("dresses", dress, kp, None)
    assert r.width == pytest.approx(0.5 * (1.5 + 2.4))
    assert r.length == pytest.approx(260 / (100 + 160))
    assert r.span == pytest.approx(1.5)


def test_a_sleeve_on_an_arm_held_away_from_the_body_does_not_widen_the_chest():
    kp = skeleton(shoulder_half=40)
    top = box(110, 190, 95, 205) | box(20, 40, 95, 205)  # a separate sleeve 70 px left of the torso
    assert worn_fit_ratios("upper_body", top, kp, None).width == pytest.approx(1.0)


def test_an_open_jacket_not_covering_the_centre_line_is_measured_edge_to_edge():
    row = np.zeros(100, bool)
    row[10:40] = True
    row[60:90] = True
    assert row_width(row[None, :], 0, 50, 0) == 80


def test_missing_keypoints_give_nan_for_the_figures_that_need_them():
    top = box(70, 230, 95, 215)
    no_shoulder = worn_fit_ratios("upper_body", top, skeleton(drop=("LShoulder",)), None)
    assert math.isnan(no_shoulder.width) and math.isnan(no_shoulder.span)
    no_ankles = worn_fit_ratios("lower_body", box(110, 190, 190, 366), skeleton(drop=("RAnkle", "LAnkle")), None)
    assert math.isnan(no_ankles.length) and math.isnan(no_ankles.span)
    assert no_ankles.width == pytest.approx(80 / 50)  # the hips are still there
    nobody = worn_fit_ratios("upper_body", top, np.zeros((25, 3), np.float32), None)
    assert all(math.isnan(v) for v in nobody.as_tuple())


def test_an_empty_garment_region_is_unmeasurable_not_zero():
    r = worn_fit_ratios("upper_body", np.zeros((H, W), bool), skeleton(), None)
    assert all(math.isnan(v) for v in r.as_tuple())


def test_the_person_mask_clips_garment_labels_that_fall_off_the_person():
    kp = skeleton(shoulder_half=40)
    person = box(110, 190, 0, H)
    r = worn_fit_ratios("upper_body", box(50, 250, 95, 205), kp, person)
    assert r.width == pytest.approx(1.0)


def test_ratios_do_not_depend_on_the_photo_scale():
    kp = skeleton(shoulder_half=40)
    top = box(90, 210, 95, 205)
    small = worn_fit_ratios("upper_body", top, kp, None)
    big_kp = kp.copy()
    big_kp[:, :2] *= 2
    big = worn_fit_ratios("upper_body", np.kron(top, np.ones((2, 2), bool)), big_kp, None)
    assert big.width == pytest.approx(small.width, rel=0.02)
    assert big.length == pytest.approx(small.length, rel=0.02)


def test_as_tuple_is_width_length_span_and_unknown_categories_are_refused():
    assert FitRatios(1.0, 2.0, 3.0).as_tuple() == (1.0, 2.0, 3.0)
    with pytest.raises(ValueError, match="unknown garment category"):
        worn_fit_ratios("hats", box(0, 10, 0, 10), skeleton(), None)
