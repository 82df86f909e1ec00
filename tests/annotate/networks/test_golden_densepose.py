"""DensePose against golden outputs of the reference implementation (detectron2's DensePose DefaultPredictor).

The fixture (tests/fixtures/golden/densepose, see PROVENANCE.md there) holds random R50-FPN s1x weights as a
detectron2 checkpoint, an input photo, and the reference predictor's detections and the top person's I/U/V
(from densepose's DensePoseResultExtractor). The test writes the weights as a model-zoo `.pkl` (the format the
project loads) and runs this project's pipeline on the same photo at the same test size.
"""

from __future__ import annotations

import pickle
from pathlib import Path

import cv2
import numpy as np
import pytest
import torch

from components.annotate.networks.densepose import load_densepose, prepare_batch, run_densepose

GOLDEN = Path(__file__).resolve().parents[2] / "fixtures" / "golden" / "densepose"
MIN_SIZE = 160  # the fixture's INPUT.MIN_SIZE_TEST


@pytest.fixture(scope="module")
def golden(tmp_path_factory):
    """(our model on the golden weights, the photo as RGB, the reference outputs)."""
    torch.set_num_threads(1)
    state = torch.load(GOLDEN / "model_final.pth", weights_only=True)["model"]
    pkl = tmp_path_factory.mktemp("densepose") / "model_final_golden.pkl"
    with open(pkl, "wb") as fh:  # the model zoo's layout: {'model': {detectron2 name: float32 ndarray}}
        pickle.dump({"model": {k: v.contiguous().numpy() for k, v in state.items()}, "__author__": "golden"}, fh)
    rgb = np.ascontiguousarray(cv2.imread(str(GOLDEN / "input.png"))[:, :, ::-1])
    return load_densepose(pkl), rgb, dict(np.load(GOLDEN / "reference_output.npz"))


def test_detections_match_the_reference_predictor(golden):
    model, rgb, ref = golden
    batch, sizes, scales = prepare_batch([rgb], MIN_SIZE, 1333, model.config.size_divisibility)
    with torch.no_grad():
        detections, _, _ = model(batch, sizes, 0.0)
    boxes, scores = detections[0]
    sy, sx = scales[0]
    boxes = boxes.float() * torch.tensor([sx, sy, sx, sy])
    assert len(ref["scores"]) >= 10 and len(scores) == len(ref["scores"])
    np.testing.assert_allclose(scores.numpy(), ref["scores"], atol=1e-4)
    np.testing.assert_allclose(boxes.numpy(), ref["boxes"], atol=0.05)


def test_top_person_iuv_matches_the_reference_within_tolerance(golden):
    model, rgb, ref = golden
    (result,) = run_densepose(model, [rgb], min_score=0.0, min_size=MIN_SIZE)
    x, y, w, h = ref["top_box_xywh"]
    x, y, w, h = int(x), int(y), max(int(w), 1), max(int(h), 1)
    # The reference's chart result holds raw U/V; its IUV writers clamp them to [0, 1] (chart_result.py), as ours do.
    ref_labels, ref_uv = ref["top_labels"], np.clip(ref["top_uv"], 0.0, 1.0)
    assert (ref_labels > 0).mean() > 0.2  # the fixture is not trivial: a third of the box is body parts
    labels = result.parts[y : y + h, x : x + w]
    uv = result.uv[:, y : y + h, x : x + w]
    assert labels.shape == ref_labels.shape
    assert (labels == ref_labels).mean() >= 0.999  # measured: 100 % (59 % before the padding and resize fix)
    both = (labels == ref_labels) & (ref_labels > 0)
    inside = (ref_uv[:, both] > 0.05) & (ref_uv[:, both] < 0.95)
    assert inside.mean() > 0.2  # U/V are not all clamped at 0 or 1: the comparison sees real values
    assert np.abs(uv[:, both] - ref_uv[:, both]).max() <= 1e-3  # measured: 3e-6
