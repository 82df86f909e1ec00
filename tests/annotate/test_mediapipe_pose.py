"""Real MediaPipe on real photographs: keypoints land on the body; no person / several people quarantined."""

import numpy as np
import pytest
from PIL import Image

from components.annotate.annotators.mediapipe_pose import MediaPipePose
from components.annotate.annotators.selfie_segmentation import SelfieSegmentation
from components.annotate.keypoints import B
from components.annotate.maps import BodyMaps
from components.annotate.params import AnnotateParams
from components.annotate.person import annotate_person
from components.errors import Quarantine


@pytest.fixture(scope="module")
def models():
    settings = AnnotateParams()
    pose, seg = MediaPipePose(settings), SelfieSegmentation(settings)
    yield seg, pose
    pose.close()
    seg.close()


@pytest.mark.parametrize("name", ["astronaut", "camera", "grace_hopper"])
def test_keypoints_land_on_the_body(models, real_photos, name):
    frame, maps, box = annotate_person(real_photos[name], list(models), 384, 512)
    kp = maps.keypoints_body25
    rs, ls, neck, nose = kp[B["RShoulder"]], kp[B["LShoulder"]], kp[B["Neck"]], kp[B["Nose"]]
    assert rs[2] > 0 and ls[2] > 0 and neck[2] > 0 and nose[2] > 0
    assert min(rs[0], ls[0]) < neck[0] < max(rs[0], ls[0])  # neck between the shoulders
    assert nose[1] < neck[1]  # nose above the neck
    assert box.x0 <= neck[0] < box.x1 and box.y0 <= neck[1] < box.y1  # inside the photo, not the padding
    assert maps.person_mask[int(neck[1]), int(neck[0])]  # the neck is on the person
    for hip in (kp[B["RHip"]], kp[B["LHip"]]):
        if hip[2] > 0:
            assert hip[1] > max(rs[1], ls[1])  # hips below the shoulders
    assert maps.n_people == 1


def test_none_of_the_sample_photos_shows_knees_or_ankles_so_they_are_zeros(models, real_photos):
    for name in ("astronaut", "grace_hopper"):
        _, maps, _ = annotate_person(real_photos[name], list(models), 384, 512)
        for point in ("RAnkle", "LAnkle", "RKnee", "LKnee"):
            assert (maps.keypoints_body25[B[point]] == 0).all(), (name, point)


def test_a_cat_is_quarantined_as_no_person(models, real_photos):
    with pytest.raises(Quarantine, match="no person"):
        annotate_person(real_photos["chelsea"], list(models), 384, 512)


def test_two_people_side_by_side_are_quarantined_as_several_people(models, real_photos):
    left = real_photos["astronaut"].resize((384, 384))
    right = real_photos["grace_hopper"].resize((384, 450))
    pair = Image.new("RGB", (832, 450), (235, 235, 235))  # a 64 px gap: people who touch merge (documented limit)
    pair.paste(left, (0, 0))
    pair.paste(right, (448, 0))
    with pytest.raises(Quarantine, match="several people"):
        annotate_person(pair, list(models), 832, 450)


def test_one_person_with_an_empty_second_blob_is_not_several_people(models, real_photos):
    seg, pose = models
    image = np.asarray(real_photos["camera"].resize((256, 256)))
    mask = seg(image).person_mask.copy()
    mask[:60, 200:] = True  # a large non-person blob (e.g. a coat on a rack) in the mask
    result = pose(image, BodyMaps(person_mask=mask))
    assert result.n_people == 1
