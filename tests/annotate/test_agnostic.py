"""Agnostic masks on a constructed person: exact regions inside and outside the mask per category."""

import numpy as np
import pytest

from components.annotate.agnostic import LIP, agnostic_image, agnostic_mask, agnostic_mask_sources
from components.annotate.annotators.pose_geometry import parse_from_geometry
from components.annotate.keypoints import B
from components.annotate.maps import BodyMaps
from components.annotate.params import MaskRules
from components.errors import Quarantine

W, H = 300, 400
POINTS = {
    "Nose": (150, 60), "REye": (142, 52), "LEye": (158, 52), "REar": (132, 56), "LEar": (168, 56),
    "RShoulder": (110, 110), "LShoulder": (190, 110), "RElbow": (95, 170), "LElbow": (205, 170),
    "RWrist": (90, 220), "LWrist": (210, 220), "RHip": (125, 220), "LHip": (175, 220),
    "RKnee": (125, 300), "LKnee": (175, 300), "RAnkle": (125, 370), "LAnkle": (175, 370),
}
FACE, HAND_R, HAND_L = (150, 60), (88, 237), (212, 237)
TORSO, THIGH, KNEE, ANKLE = (150, 160), (130, 260), (125, 300), (125, 372)


def _keypoints(drop: tuple[str, ...] = ()) -> np.ndarray:
    kp = np.zeros((25, 3), np.float32)
    for name, (x, y) in POINTS.items():
        if name not in drop:
            kp[B[name]] = (x, y, 0.9)
    for mid, (a, b) in (("Neck", ("RShoulder", "LShoulder")), ("MidHip", ("RHip", "LHip"))):
        if kp[B[a], 2] and kp[B[b], 2]:
            kp[B[mid]] = ((kp[B[a], 0] + kp[B[b], 0]) / 2, (kp[B[a], 1] + kp[B[b], 1]) / 2, 0.9)
    return kp


def _maps(drop: tuple[str, ...] = ()) -> BodyMaps:
    return BodyMaps(keypoints_body25=_keypoints(drop), sources={"keypoints_body25": "constructed"})


def at(mask: np.ndarray, xy: tuple[int, int]) -> bool:
    return bool(mask[xy[1], xy[0]])


def test_upper_body_mask_covers_torso_and_arms_not_face_hands_or_legs():
    mask = agnostic_mask("upper_body", _maps(), MaskRules(), shape=(H, W))
    assert at(mask, TORSO) and at(mask, (100, 140))  # torso and right upper arm
    assert not at(mask, FACE) and not at(mask, HAND_R) and not at(mask, HAND_L)
    assert not at(mask, KNEE) and not at(mask, ANKLE)


def test_lower_body_mask_covers_legs_not_torso_face_hands_or_feet():
    mask = agnostic_mask("lower_body", _maps(), MaskRules(), shape=(H, W))
    assert at(mask, THIGH) and at(mask, KNEE) and at(mask, (175, 340))
    assert not at(mask, TORSO) and not at(mask, FACE)
    assert not at(mask, HAND_R) and not at(mask, ANKLE)


def test_dress_mask_covers_torso_and_legs_not_face_hands_or_feet():
    mask = agnostic_mask("dresses", _maps(), MaskRules(), shape=(H, W))
    assert at(mask, TORSO) and at(mask, THIGH) and at(mask, KNEE)
    assert not at(mask, FACE) and not at(mask, HAND_L) and not at(mask, ANKLE)


def test_missing_knees_quarantine_only_when_the_profile_requires_them():
    maps = _maps(drop=("RKnee", "LKnee", "RAnkle", "LAnkle"))
    mask = agnostic_mask("lower_body", maps, MaskRules(), shape=(H, W))
    assert at(mask, (150, 390))  # thighs continue to the photo's edge
    with pytest.raises(Quarantine, match="knees not visible"):
        agnostic_mask("lower_body", maps, MaskRules(require_knees=["lower_body"]), shape=(H, W))


def test_mask_off_the_photo_is_dropped_and_a_tiny_mask_quarantined():
    valid = np.zeros((H, W), bool)
    valid[:100] = True  # the photo ends above the shoulders
    with pytest.raises(Quarantine, match="too small"):
        agnostic_mask("lower_body", _maps(), MaskRules(), shape=(H, W), valid=valid)


def test_parse_labels_widen_the_mask_and_protect_the_face():
    parse = np.zeros((H, W), np.uint8)
    parse[150:170, 230:260] = LIP["upper_clothes"]  # a loose garment flap outside the keypoint region
    parse[50:70, 140:160] = LIP["face"]
    maps = _maps()
    maps.parse_lip = parse
    mask = agnostic_mask("upper_body", maps, MaskRules(dilate_px=0), shape=(H, W))
    assert at(mask, (245, 160)) and not at(mask, (150, 60))
    assert "parse_lip" in agnostic_mask_sources(maps)


def test_agnostic_image_fills_the_mask_grey_and_keeps_the_rest():
    image = np.full((H, W, 3), 200, np.uint8)
    mask = agnostic_mask("upper_body", _maps(), MaskRules(), shape=(H, W))
    out = agnostic_image(image, mask)
    assert tuple(out[TORSO[1], TORSO[0]]) == (128, 128, 128)
    assert tuple(out[FACE[1], FACE[0]]) == (200, 200, 200)


def test_pose_geometry_parse_labels_face_torso_arms_and_legs_in_lip_ids():
    person = np.zeros((H, W), bool)
    person[30:395, 60:240] = True
    parse = parse_from_geometry(_keypoints(), person, MaskRules())
    assert parse[60, 150] == LIP["face"]
    assert parse[160, 150] == LIP["upper_clothes"]
    assert parse[190, 93] == LIP["right_arm"] and parse[190, 207] == LIP["left_arm"]
    assert parse[280, 130] == LIP["pants"]
    assert parse[10, 10] == 0 and parse[200, 250] == 0  # outside the person mask


def test_pose_geometry_parse_labels_every_person_pixel_and_moves_with_the_person():
    # The parse is combined inside the person's bounding box: pixels on the box's edges are labelled too, and the
    # same person further inside a larger frame gets the same labels, shifted (even offsets: rounding agrees).
    person = np.zeros((H, W), bool)
    person[30:395, 60:240] = True
    person[394, 239] = person[30, 60] = True
    parse = parse_from_geometry(_keypoints(), person, MaskRules())
    assert (parse[person] != 0).all() and (parse[~person] == 0).all()
    dy, dx = 40, 24
    bigger = np.zeros((H + 2 * dy, W + 2 * dx), bool)
    bigger[dy:dy + H, dx:dx + W] = person
    kp = _keypoints()
    kp[kp[:, 2] > 0, :2] += (dx, dy)
    moved = parse_from_geometry(kp, bigger, MaskRules())
    assert np.array_equal(moved[dy:dy + H, dx:dx + W], parse)
    assert not moved[:dy].any() and not moved[dy + H:].any()
