"""Real MediaPipe on real photographs: keypoints land on the body; no person / several people quarantined,
people who touch or overlap included, passers-by and greyscale photos handled."""

import cv2
import numpy as np
import pytest
from PIL import Image, ImageOps

from components.annotate.annotators.mediapipe_pose import MediaPipePose
from components.annotate.annotators.selfie_segmentation import SelfieSegmentation
from components.annotate.keypoints import B
from components.annotate.maps import BodyMaps
from components.annotate.params import AnnotateParams, PoseRules
from components.annotate.person import annotate_person
from components.annotate.second_look import EQUALISED, ORIGINAL, PERSON_CROP, UPSCALED_2X
from components.errors import Quarantine
from tests.annotate.conftest import paste_person, side_by_side


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


def test_portraits_that_end_above_the_knees_have_zero_leg_points(models, real_photos):
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
    pair = Image.new("RGB", (832, 450), (235, 235, 235))  # a 64 px gap: two person-mask blobs
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


def _models(**rules):
    settings = AnnotateParams(pose_rules=PoseRules(**rules))
    return [SelfieSegmentation(settings), MediaPipePose(settings)]


def _one_blob(models, image, width, height, xs, y_fraction):
    """True when the person mask at annotate size joins the points (x in photo pixels, y as a fraction)."""
    from components.annotate.frame import letterbox

    seg, _ = models
    _, content, box = letterbox(image, width, height)
    _, labels = cv2.connectedComponents(seg(content).person_mask.astype(np.uint8))
    y = int(y_fraction * content.shape[0])
    ids = {int(labels[y, min(int(x * box.scale), content.shape[1] - 1)]) for x in xs}
    return len(ids) == 1 and 0 not in ids


@pytest.mark.parametrize(("left", "right", "offset"), [(1, 2, 300), (3, 1, 260), (4, 3, 340)])
def test_two_real_people_touching_side_by_side_are_several_people(models, openvto_photos, left, right, offset):
    a, b = openvto_photos[f"studio_{left}"], openvto_photos[f"studio_{right}"]
    pair = side_by_side(a, b, offset)
    # They touch: the person mask is one blob from one person's chest to the other's.
    assert _one_blob(models, pair, 512, 512, [a.width / 2, offset + b.width / 2], 0.35)
    with pytest.raises(Quarantine, match=r"several people \(2 detected\)"):
        annotate_person(pair, list(models), 512, 512)


def test_a_person_half_hidden_behind_another_is_several_people(models, openvto_photos):
    pair = side_by_side(openvto_photos["studio_1"], openvto_photos["studio_2"], 220)  # she stands in front of him
    with pytest.raises(Quarantine, match="several people"):
        annotate_person(pair, list(models), 512, 512)


def test_each_real_full_body_photo_is_one_person_passers_by_included(models, openvto_photos):
    # everyday_2 is a park with people walking by in the background.
    for name, photo in openvto_photos.items():
        _, maps, _ = annotate_person(photo, list(models), 384, 512)
        assert maps.n_people == 1 and maps.pose_attempt == ORIGINAL, name


def test_a_second_person_smaller_than_other_person_min_size_is_a_passer_by(openvto_photos):
    # A real person pasted small into the park photo; the area gates are lowered so the pose pass really runs
    # and finds them (at about half the main person's size): other_person_min_size alone decides.
    scene = paste_person(openvto_photos["everyday_2"], openvto_photos["studio_3"], 0.25, 600, 0.3)
    gates = {"other_person_min_area": 0.002, "other_person_min_ratio": 0.01}
    strict, loose = _models(**gates, other_person_min_size=0.7), _models(**gates, other_person_min_size=0.3)
    try:
        _, maps, _ = annotate_person(scene, strict, 384, 512)
        assert maps.n_people == 1
        with pytest.raises(Quarantine, match="several people"):
            annotate_person(scene, loose, 384, 512)
    finally:
        for m in strict + loose:
            m.close()


def test_a_greyscale_photo_nobody_is_found_in_is_quarantined_naming_greyscale(models, real_photos):
    # The colour photo is found; its greyscale copy is missed by every attempt (a measured fact of this model).
    annotate_person(real_photos["grace_hopper"], list(models), 384, 512)
    grey = ImageOps.grayscale(real_photos["grace_hopper"]).convert("RGB")
    with pytest.raises(Quarantine) as info:
        annotate_person(grey, list(models), 384, 512)
    reason = info.value.reason
    assert reason.startswith("no person") and "greyscale" in reason
    # Every attempt that applies was made (the crop is skipped: the person mask fills this portrait).
    assert f"tried {ORIGINAL}, {EQUALISED}, {UPSCALED_2X};" in reason


def test_a_faded_greyscale_photo_is_found_after_equalising_and_the_attempt_is_recorded(models, openvto_photos):
    colour = openvto_photos["everyday_1"]
    grey = np.asarray(ImageOps.grayscale(colour), dtype=np.float32)
    faded = Image.fromarray((120 + grey / 255 * 20).astype(np.uint8)).convert("RGB")  # a washed-out print
    _, pose = models
    assert pose.landmarks(np.asarray(faded.resize((384, 512)))) is None  # missed as it is
    _, seen, _ = annotate_person(colour, list(models), 384, 512)
    _, maps, _ = annotate_person(faded, list(models), 384, 512)
    assert maps.pose_attempt == EQUALISED and maps.n_people == 1
    # Same photo, same body: the keypoints found on the equalised copy land where the colour photo's do.
    both = (seen.keypoints_body25[:, 2] > 0) & (maps.keypoints_body25[:, 2] > 0)
    assert both.sum() >= 15
    assert np.abs(seen.keypoints_body25[both, :2] - maps.keypoints_body25[both, :2]).max() < 15


def test_a_small_greyscale_person_is_found_on_the_person_crop_and_mapped_back(models, real_photos):
    # The greyscale cameraman, small in a large grey frame: missed there, found on the crop to the person mask.
    photo = real_photos["camera"]
    small = photo.resize((int(photo.width * 0.2 * 1600 / photo.height), 320))
    scene = Image.new("RGB", (1200, 1600), (200, 200, 200))
    scene.paste(small, (500, 700))
    _, maps, box = annotate_person(scene, list(models), 384, 512)
    assert maps.pose_attempt == PERSON_CROP
    neck = maps.keypoints_body25[B["Neck"]]
    x0, y0 = box.x0 + 500 * box.scale, box.y0 + 700 * box.scale
    assert neck[2] > 0 and x0 < neck[0] < x0 + small.width * box.scale and y0 < neck[1] < y0 + small.height * box.scale
