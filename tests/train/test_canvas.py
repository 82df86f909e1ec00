"""Canvas layout: garment left, person right, repaint mask only on the person half; aspect buckets."""

from __future__ import annotations

import numpy as np
from PIL import Image

from components.train.canvas import choose_bucket, make_canvas, person_half


def test_choose_bucket_picks_the_nearest_aspect_ratio():
    buckets = [(768, 1024), (1024, 1024), (1024, 768)]
    assert choose_bucket(300, 400, buckets) == (768, 1024)
    assert choose_bucket(1000, 980, buckets) == (1024, 1024)
    assert choose_bucket(1600, 1000, buckets) == (1024, 768)


def test_canvas_puts_garment_left_person_right_and_masks_only_the_person_half():
    garment = Image.new("RGB", (10, 20), (255, 0, 0))
    person = Image.new("RGB", (30, 40), (0, 0, 255))
    mask = Image.new("L", (30, 40), 255)
    c = make_canvas(garment, person, mask, (16, 32))
    img, m = np.asarray(c.image), np.asarray(c.mask)
    assert c.image.size == (32, 32)
    assert (img[:, :16] == [255, 0, 0]).all() and (img[:, 16:] == [0, 0, 255]).all()
    assert (m[:, :16] == 0).all() and (m[:, 16:] == 255).all()
    assert person_half(c.image).size == (16, 32)
    assert (np.asarray(c.masked_image())[:, 16:] == 127).all()  # repaint region hidden from the model
