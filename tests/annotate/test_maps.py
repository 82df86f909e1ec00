"""BodyMaps carry which input the pose model found the person on through merging, framing and the cache."""

import numpy as np

from components.annotate.frame import Letterbox, place_maps
from components.annotate.maps import BodyMaps
from components.annotate.second_look import EQUALISED


def test_pose_attempt_survives_update_place_maps_and_the_npz_round_trip():
    maps = BodyMaps(person_mask=np.ones((4, 3), bool)).update(
        BodyMaps(keypoints_body25=np.zeros((25, 3), np.float32), n_people=1, pose_attempt=EQUALISED))
    assert maps.pose_attempt == EQUALISED
    framed = place_maps(maps, Letterbox(5, 4, 1.0, 1, 0, 4, 4))
    assert framed.pose_attempt == EQUALISED and framed.person_mask.shape == (4, 5)
    back = BodyMaps.from_npz_dict(framed.to_npz_dict())
    assert back.pose_attempt == EQUALISED and back.n_people == 1
    assert BodyMaps.from_npz_dict(BodyMaps(n_people=1).to_npz_dict()).pose_attempt is None


def test_place_maps_keeps_the_maps_of_a_photo_that_fills_the_frame_and_pads_the_others():
    mask = np.zeros((4, 5), bool)
    mask[1, 2] = True
    kp = np.zeros((25, 3), np.float32)
    kp[0] = (2, 1, 0.9)
    maps = BodyMaps(person_mask=mask, parse_lip=mask.astype(np.uint8) * 5, keypoints_body25=kp)
    full = Letterbox(5, 4, 1.0, 0, 0, 5, 4)
    assert full.fills_frame
    framed = place_maps(maps, full)
    assert np.array_equal(framed.person_mask, mask) and np.array_equal(framed.parse_lip, maps.parse_lip)
    assert tuple(framed.keypoints_body25[0]) == (2, 1, np.float32(0.9))
    padded = place_maps(maps, Letterbox(7, 4, 1.0, 1, 0, 6, 4))
    assert not Letterbox(7, 4, 1.0, 1, 0, 6, 4).fills_frame
    assert padded.person_mask.shape == (4, 7) and padded.person_mask[1, 3] and padded.person_mask.sum() == 1
    assert tuple(padded.keypoints_body25[0, :2]) == (3, 1)
