"""OpenPose body model: flat Caffe-style key names, strict loading, heatmap/PAF decoding into COCO-18 / BODY_25."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from components.annotate.networks.checkpoint import CheckpointMismatch
from components.annotate.networks.openpose_body import (
    LIMB_PAF, LIMBS, DecodeParams, OpenPoseBodyNet, assemble_people, coco18_to_body25, detect_people, find_peaks,
    load_openpose_body,
)

torch.set_num_threads(1)

OFFICIAL_KEYS = {  # body_pose_model.pth: flat layer names from the CMU Caffe prototxt
    "conv1_1.weight": (64, 3, 3, 3),
    "conv4_4_CPM.weight": (128, 256, 3, 3),
    "conv5_5_CPM_L1.weight": (38, 512, 1, 1),
    "conv5_5_CPM_L2.bias": (19,),
    "Mconv1_stage2_L1.weight": (128, 185, 7, 7),
    "Mconv7_stage6_L1.weight": (38, 128, 1, 1),
    "Mconv7_stage6_L2.weight": (19, 128, 1, 1),
}


def test_official_file_has_flat_caffe_layer_names(official_store):
    state = torch.load(official_store["openpose_body_pose_model"], weights_only=True)
    assert len(state) == 184
    for name, shape in OFFICIAL_KEYS.items():
        assert tuple(state[name].shape) == shape, name


def test_loads_strictly_and_runs_on_a_real_photo(official_store, photo):
    model = load_openpose_body(official_store["openpose_body_pose_model"])
    paf, heat = model(torch.zeros(1, 3, 64, 48))
    assert paf.shape == (1, 38, 8, 6) and heat.shape == (1, 19, 8, 6)
    people = detect_people(model, photo, scales=(0.5,), box_size=184)
    assert isinstance(people, list)
    for kp in people:  # random weights find whatever they find; each person must be well formed
        assert kp.shape == (18, 3)
        assert (kp[:, 0] < photo.shape[1]).all() and (kp[:, 1] < photo.shape[0]).all()


def test_missing_layer_is_refused_by_name(tmp_path):
    net = OpenPoseBodyNet()
    state = {k.split(".", 1)[1]: torch.zeros(1).expand(v.shape) for k, v in net.state_dict().items()}
    del state["Mconv3_stage4_L2.bias"]
    path = tmp_path / "body.pth"
    torch.save(state, path)
    with pytest.raises(CheckpointMismatch, match=r"missing keys: model4_2\.Mconv3_stage4_L2\.bias"):
        load_openpose_body(path)


def _synthetic_person(h=120, w=100):
    """Heatmaps with one gaussian per part at known places and PAFs pointing along every limb."""
    pts = {0: (50, 20), 1: (50, 40), 2: (35, 40), 3: (30, 60), 4: (28, 80), 5: (65, 40), 6: (70, 60), 7: (72, 80),
           8: (42, 80), 9: (42, 100), 11: (58, 80), 12: (58, 100), 14: (46, 16), 15: (54, 16), 16: (40, 18), 17: (60, 18)}
    yy, xx = np.mgrid[0:h, 0:w]
    heat = np.zeros((h, w, 19), np.float32)
    for part, (x, y) in pts.items():
        heat[:, :, part] = np.exp(-((xx - x) ** 2 + (yy - y) ** 2) / (2 * 3.0**2))
    paf = np.zeros((h, w, 38), np.float32)
    for (a, b), (cx, cy) in zip(LIMBS, LIMB_PAF):
        if a in pts and b in pts:
            (x0, y0), (x1, y1) = pts[a], pts[b]
            v = np.array([x1 - x0, y1 - y0], float)
            v /= np.linalg.norm(v)
            n = int(np.hypot(x1 - x0, y1 - y0))
            for t in np.linspace(0, 1, max(n, 2)):
                x, y = int(round(x0 + t * (x1 - x0))), int(round(y0 + t * (y1 - y0)))
                paf[max(y - 2, 0):y + 3, max(x - 2, 0):x + 3, cx] = v[0]
                paf[max(y - 2, 0):y + 3, max(x - 2, 0):x + 3, cy] = v[1]
    return heat, paf, pts


def test_decoding_recovers_a_synthetic_person_exactly():
    heat, paf, pts = _synthetic_person()
    p = DecodeParams()
    people = assemble_people(find_peaks(heat, p), paf, p)
    assert len(people) == 1
    kp = people[0]
    for part, (x, y) in pts.items():
        assert tuple(kp[part, :2]) == (x, y), part
    assert kp[10, 2] == 0 and kp[13, 2] == 0  # ankles were not drawn: missing


def test_coco18_to_body25_places_parts_and_mid_hip():
    kp = np.zeros((18, 3), np.float32)
    kp[8] = (40, 80, 0.9)   # RHip
    kp[11] = (60, 80, 0.7)  # LHip
    kp[14] = (46, 16, 0.8)  # REye
    b25 = coco18_to_body25(kp)
    np.testing.assert_allclose(b25[8], (50, 80, 0.7))
    np.testing.assert_allclose(b25[9], kp[8])
    np.testing.assert_allclose(b25[12], kp[11])
    np.testing.assert_allclose(b25[15], kp[14])
    assert not b25[19:].any()
