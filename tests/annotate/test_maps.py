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
