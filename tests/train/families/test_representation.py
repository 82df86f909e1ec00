"""The person representation: 41 channels from the manifest's annotation files or a photo annotated on the
fly, pose heatmaps where the keypoints are, a parse that does not leak the worn garment, and the way back."""

from __future__ import annotations

import json

import numpy as np
import torch
from PIL import Image

from components.train.data import select_samples
from components.train.families.representation import (
    REPRESENTATION_CHANNELS,
    agnostic_parse,
    collate_inputs,
    inputs_from_photo,
    load_sample_inputs,
    pose_heatmaps,
    read_coco18,
    to_photo,
)


def test_heatmap_peaks_sit_on_the_scaled_keypoints_and_missing_points_are_empty():
    kp = np.zeros((18, 3), np.float32)
    kp[0] = (95.5, 127.5, 0.9)  # bottom-right pixel centre of a 96x128 frame
    kp[2] = (0, 0, 0.8)
    maps = pose_heatmaps(kp, (96, 128), (48, 64))
    assert maps.shape == (18, 64, 48)
    assert np.unravel_index(int(maps[0].argmax()), (64, 48)) == (63, 47)
    assert np.unravel_index(int(maps[2].argmax()), (64, 48)) == (0, 0)
    assert maps[1].abs().sum() == 0


def test_keypoints_read_from_dresscode_and_openpose_json_agree(tmp_path):
    from components.annotate.keypoints import dresscode_json, openpose_json

    body25 = np.random.default_rng(0).uniform(1, 90, (25, 3)).astype(np.float32)
    (tmp_path / "a.json").write_text(json.dumps(dresscode_json(body25)))
    (tmp_path / "b.json").write_text(json.dumps(openpose_json(body25)))
    np.testing.assert_allclose(read_coco18(tmp_path / "a.json"), read_coco18(tmp_path / "b.json"), atol=1e-2)


def test_the_parse_under_the_repainted_region_keeps_only_face_and_hair():
    labels = np.array([[5, 13, 2], [14, 5, 0]], np.uint8)  # upper clothes, face, hair / left arm, upper clothes
    mask = np.array([[True, True, True], [True, False, False]])
    np.testing.assert_array_equal(agnostic_parse(labels, mask), [[0, 13, 2], [0, 5, 0]])


def test_manifest_samples_give_all_channels_and_a_batch(worn_dataset):
    samples = select_samples(worn_dataset).samples
    s = samples[0]
    assert s.keypoints is not None and s.parse is not None and s.cloth_mask is not None
    x = load_sample_inputs(s, (48, 64))
    assert x.representation().shape == (REPRESENTATION_CHANNELS, 64, 48)
    assert x.pose.amax() > 0.5 and x.parse.sum(0).eq(1).all()  # some keypoints, one label per pixel
    assert x.worn_mask.sum() > 0 and x.agnostic_mask.sum() > 0 and x.cloth_mask.sum() > 0
    # the agnostic image is grey (0 in [-1, 1]) where the mask is on, the photo elsewhere
    m = x.agnostic_mask[0] > 0
    assert x.agnostic[:, m].abs().max() < 0.01
    assert torch.equal(x.agnostic[:, ~m], x.target[:, ~m])
    batch = collate_inputs([x, load_sample_inputs(samples[1], (48, 64))])
    assert batch["representation"].shape == (2, 41, 64, 48) and batch["categories"] == ["upper_body"] * 2


def test_a_bare_photo_is_annotated_on_the_fly_and_maps_back_to_its_own_size(real_photos):
    person = real_photos["astronaut"].resize((200, 240))
    garment = Image.new("RGB", (90, 120), "white")
    garment.paste((200, 30, 30), (20, 20, 70, 100))
    x = inputs_from_photo(person, garment, None, "upper_body", (48, 64))
    assert x.pose.amax() > 0.5 and x.agnostic_mask.sum() > 0 and x.cloth_mask.sum() > 0
    assert x.frame_box != (0.0, 0.0, 1.0, 1.0)  # the square-ish photo sits letterboxed in the 3:4 frame
    back = to_photo(x.target, x, person)
    assert back.size == person.size
    diff = np.abs(np.asarray(back, np.int16) - np.asarray(person, np.int16)).mean()
    assert diff < 25  # the frame round trip is the photo again, up to the 48x64 resolution


def test_a_photo_without_a_person_is_a_clear_error(real_photos):
    import pytest

    with pytest.raises(ValueError, match="cannot annotate"):
        inputs_from_photo(real_photos["chelsea"], real_photos["chelsea"], None, "upper_body", (48, 64))
