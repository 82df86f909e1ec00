"""Keypoint formats: MediaPipe -> BODY_25 -> COCO-18, and the JSON documents trainers read."""

import json

import numpy as np

from components.annotate.keypoints import (
    B,
    body25_from_landmarks,
    coco18_from_body25,
    dresscode_json,
    openpose_json,
    read_body25,
    render_skeleton,
    write_json,
)


def _landmarks(visibility: float = 0.9) -> np.ndarray:
    lms = np.zeros((33, 3), np.float32)
    lms[:, 2] = visibility
    lms[11] = (0.6, 0.3, 0.95)  # left shoulder
    lms[12] = (0.4, 0.3, 0.90)  # right shoulder
    lms[23] = (0.58, 0.6, 0.8)  # left hip
    lms[24] = (0.42, 0.6, 0.7)  # right hip
    lms[0] = (0.5, 0.15, 0.99)  # nose
    return lms


def test_neck_and_midhip_are_midpoints_with_the_lower_confidence():
    kp = body25_from_landmarks(_landmarks(), 100, 200, min_visibility=0.5)
    assert np.allclose(kp[B["Neck"]], (50, 60, 0.90))
    assert np.allclose(kp[B["MidHip"]], (50, 120, 0.70))
    assert np.allclose(kp[B["LShoulder"]], (60, 60, 0.95))


def test_low_visibility_and_out_of_frame_points_are_zeros():
    lms = _landmarks()
    lms[25] = (0.5, 1.3, 0.9)  # left knee below the photo
    lms[26] = (0.5, 0.8, 0.2)  # right knee barely visible
    kp = body25_from_landmarks(lms, 100, 200, min_visibility=0.5)
    assert (kp[B["LKnee"]] == 0).all() and (kp[B["RKnee"]] == 0).all()
    assert (kp[B["LSmallToe"]] == 0).all() and (kp[B["RSmallToe"]] == 0).all()  # MediaPipe has no small toes


def test_openpose_json_has_one_person_with_75_numbers():
    kp = body25_from_landmarks(_landmarks(), 100, 200, 0.5)
    doc = openpose_json(kp)
    assert doc["version"] == 1.3
    flat = doc["people"][0]["pose_keypoints_2d"]
    assert len(flat) == 75 and all(isinstance(v, float) for v in flat)
    assert flat[3 * B["Neck"]: 3 * B["Neck"] + 2] == [50.0, 60.0]


def test_dresscode_json_lists_18_points_of_x_y_score_index(tmp_path):
    kp = body25_from_landmarks(_landmarks(), 100, 200, 0.5)
    write_json(dresscode_json(kp), tmp_path / "k.json")
    points = np.array(json.loads((tmp_path / "k.json").read_text())["keypoints"])
    assert points.shape == (18, 4)
    assert list(points[:, 3]) == list(range(18))
    coco = coco18_from_body25(kp)
    assert np.allclose(points[:, :2], coco[:, :2], atol=1e-3)
    assert np.allclose(points[8, :2], kp[B["RHip"], :2])  # COCO-18 index 8 is the right hip


def test_openpose_json_round_trips(tmp_path):
    kp = body25_from_landmarks(_landmarks(), 100, 200, 0.5)
    write_json(openpose_json(kp), tmp_path / "p.json")
    assert np.allclose(read_body25(tmp_path / "p.json"), kp, atol=1e-3)


def test_rendered_skeleton_draws_limbs_in_openpose_colours():
    kp = body25_from_landmarks(_landmarks(), 100, 200, 0.5)
    img = render_skeleton(kp, 100, 200)
    assert img.shape == (200, 100, 3)
    # The neck-to-right-shoulder limb takes RShoulder's colour (255, 85, 0) halfway between the points.
    assert tuple(img[60, 45]) == (255, 85, 0)
    assert img[190, 5].sum() == 0
