"""OpenPose body model against golden outputs of the reference implementation (Hzzone/pytorch-openpose's Body).

The fixture (tests/fixtures/golden/openpose, see PROVENANCE.md there) holds a random-weight body_pose_model.pth
in the official flat layout, an input photo, and what the reference's `Body.__call__` returned for them.
"""

from __future__ import annotations

import json
from pathlib import Path

import cv2
import numpy as np
import torch

from components.annotate.networks.openpose_body import detect_people, load_openpose_body

GOLDEN = Path(__file__).resolve().parents[2] / "fixtures" / "golden" / "openpose"


def _people_as_arrays(doc: dict) -> list[np.ndarray]:
    out = []
    for person in doc["people"]:
        kp = np.zeros((18, 3), np.float64)
        for i, part in enumerate(person["parts"]):
            if part is not None:
                kp[i] = part
        out.append(kp)
    return out


def test_keypoints_match_the_reference_body_estimator_within_one_pixel():
    torch.set_num_threads(1)
    reference = _people_as_arrays(json.loads((GOLDEN / "reference_output.json").read_text()))
    assert len(reference) >= 2  # the fixture is not trivial: several people assembled from many candidates
    model = load_openpose_body(GOLDEN / "body_pose_model.pth")
    bgr = cv2.imread(str(GOLDEN / "input.png"))  # the reference feeds its network B, G, R
    ours = detect_people(model, np.ascontiguousarray(bgr[:, :, ::-1]))
    assert len(ours) == len(reference)
    unmatched = list(range(len(ours)))
    for ref in reference:
        present = ref[:, 2] > 0
        # The reference leaves people in assembly order; ours are sorted by score: match by the parts found.
        match = next(j for j in unmatched if np.array_equal(ours[j][:, 2] > 0, present)
                     and np.abs(ours[j][present, :2] - ref[present, :2]).max() <= 1.0)
        unmatched.remove(match)
        np.testing.assert_allclose(ours[match][present, 2], ref[present, 2], rtol=1e-4, atol=1e-5)


def test_feeding_rgb_where_the_reference_feeds_bgr_changes_the_keypoints():
    torch.set_num_threads(1)
    reference = _people_as_arrays(json.loads((GOLDEN / "reference_output.json").read_text()))
    model = load_openpose_body(GOLDEN / "body_pose_model.pth")
    bgr = cv2.imread(str(GOLDEN / "input.png"))
    swapped = detect_people(model, np.ascontiguousarray(bgr))  # channels the wrong way round
    same = len(swapped) == len(reference) and all(
        any(np.array_equal(s[:, 2] > 0, r[:, 2] > 0) and np.abs(s[:, :2] - r[:, :2]).max() <= 1.0 for s in swapped)
        for r in reference)
    assert not same
