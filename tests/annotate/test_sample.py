"""The garment frame of one sample: a cloth mask the source gave is used as it is, scaled as the garment was."""

import numpy as np
import pytest
from PIL import Image

from components.annotate.params import AnnotateParams
from components.annotate.sample import SampleTask, garment_frame
from components.errors import Quarantine


def _task(tmp_path, mask: Image.Image | None) -> SampleTask:
    garment = Image.new("RGB", (200, 300), (255, 255, 255))
    garment.paste((200, 30, 30), (20, 20, 180, 280))  # a red garment on white, which the classical mask finds
    garment.save(tmp_path / "g.png")
    if mask is not None:
        mask.save(tmp_path / "m.png")
    return SampleTask("s", "upper_body", "train", str(tmp_path / "p.png"), str(tmp_path / "g.png"), "pk", "sk",
                      cloth_mask_file=str(tmp_path / "m.png") if mask is not None else None)


def test_a_given_cloth_mask_replaces_the_derived_one_and_is_letterboxed_like_the_garment(tmp_path):
    settings = AnnotateParams(width=96, height=128)
    left = Image.new("L", (200, 300), 0)
    left.paste(255, (0, 0, 100, 300))  # only the garment's left half, which no colour rule would give
    _, given = garment_frame(_task(tmp_path, left), settings, np.zeros((128, 96, 3), np.uint8), None)
    _, derived = garment_frame(_task(tmp_path, None), settings, np.zeros((128, 96, 3), np.uint8), None)
    # 200x300 fits 96x128 at scale 128/300: 85 px wide, centred with 5 px of padding on each side.
    assert given.shape == derived.shape == (128, 96)
    assert given[:, 5:47].all() and not given[:, 48:].any() and not given[:, :5].any()
    assert derived[:, 60:80].any()  # the classical mask covers the right half too


def test_a_given_cloth_mask_of_another_size_is_quarantined_naming_the_fix(tmp_path):
    with pytest.raises(Quarantine, match="re-run `vton data import`"):
        garment_frame(_task(tmp_path, Image.new("L", (50, 50), 255)), AnnotateParams(width=96, height=128),
                      np.zeros((128, 96, 3), np.uint8), None)
