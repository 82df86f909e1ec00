"""Serving without a mask: the agnostic mask comes from the annotate step's annotators on the bare photo."""

from __future__ import annotations

import numpy as np

from components.train.automask import agnostic_mask_for_image


def test_mask_of_a_real_photo_covers_the_torso_not_the_head(real_photos):
    photo = real_photos["astronaut"]
    mask = np.asarray(agnostic_mask_for_image(photo, "upper_body")) > 0
    assert mask.shape == (photo.height, photo.width)
    assert 0.05 < mask.mean() < 0.8
    assert not mask[: photo.height // 10].any()  # hair and face stay
    assert mask[int(photo.height * 0.8):].mean() > 0.1  # the torso at the bottom of the portrait is repainted
