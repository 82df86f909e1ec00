"""SCHP against golden outputs of the reference implementation (GoGoDuck912/Self-Correction-Human-Parsing).

The fixture (tests/fixtures/golden/schp, see PROVENANCE.md there) holds a random-weight LIP checkpoint in the
official layout, an input photo, and the label PNG the reference's `simple_extractor.py` wrote for it (at a
128 x 128 network input instead of 473 x 473, to keep CPU time low; the code paths are the same).
"""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import pytest
import torch
from PIL import Image

from components.annotate.networks import schp
from components.annotate.networks.schp import load_schp, parse_images

GOLDEN = Path(__file__).resolve().parents[2] / "fixtures" / "golden" / "schp"
INPUT_SIZE = (128, 128)


@pytest.fixture(scope="module")
def golden():
    """(our model on the golden checkpoint, the input as the reference reads it (BGR), the reference labels)."""
    torch.set_num_threads(1)
    model = load_schp(GOLDEN / "exp-schp-lip.pth", "lip")
    bgr = cv2.imread(str(GOLDEN / "input" / "astronaut.png"))
    reference = np.asarray(Image.open(GOLDEN / "reference" / "astronaut.png"))
    return model, bgr, reference


def _agreement(model, image_rgb: np.ndarray, reference: np.ndarray) -> float:
    (labels,) = parse_images(model, [image_rgb], INPUT_SIZE)
    assert labels.shape == reference.shape
    return float((labels == reference).mean())


def test_reference_label_map_is_not_trivial(golden):
    _, _, reference = golden
    shares = np.bincount(reference.reshape(-1), minlength=20) / reference.size
    assert (shares > 0.01).sum() >= 4 and shares.max() < 0.7  # several labels, none covering nearly everything


def test_label_map_matches_the_reference_extractor_on_at_least_99_9_percent_of_pixels(golden):
    model, bgr, reference = golden
    assert _agreement(model, np.ascontiguousarray(bgr[:, :, ::-1]), reference) >= 0.999


def test_batchnorm_with_the_raw_weight_would_disagree_with_the_reference(golden, monkeypatch):
    model, bgr, reference = golden

    def raw_weight_batchnorm(x, mean, var, weight, bias, eps=schp.ABN_EPS, slope=schp.LEAKY_SLOPE):
        y = torch.nn.functional.batch_norm(x, mean, var, weight, bias, False, 0.0, eps)
        return y if slope is None else torch.nn.functional.leaky_relu(y, slope)

    monkeypatch.setattr(schp, "inplace_abn_inference", raw_weight_batchnorm)
    assert _agreement(model, np.ascontiguousarray(bgr[:, :, ::-1]), reference) < 0.5  # measured: 0.01


def test_feeding_the_channels_the_wrong_way_round_disagrees_with_the_reference(golden):
    model, bgr, reference = golden
    assert _agreement(model, bgr, reference) < 0.95  # BGR handed over as if it were RGB (measured: 0.83)
