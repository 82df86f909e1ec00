"""Garment masks on white and coloured backdrops; images with no garment are quarantined."""

import numpy as np
import pytest
from PIL import Image, ImageDraw

from components.annotate.cloth_mask import cloth_mask
from components.errors import Quarantine

SHIRT = [(130, 70), (254, 70), (340, 130), (305, 190), (275, 440), (109, 440), (79, 190), (44, 130)]


def _product(backdrop, garment=(150, 40, 40), print_colour=None) -> tuple[np.ndarray, np.ndarray]:
    img = Image.new("RGB", (384, 512), backdrop)
    truth = Image.new("L", (384, 512), 0)
    ImageDraw.Draw(img).polygon(SHIRT, fill=garment)
    ImageDraw.Draw(truth).polygon(SHIRT, fill=1)
    if print_colour is not None:  # a logo in the backdrop's own colour inside the garment
        ImageDraw.Draw(img).rectangle((170, 200, 220, 240), fill=print_colour)
    rng = np.random.default_rng(0)
    noisy = np.clip(np.asarray(img, np.int16) + rng.integers(-6, 7, (512, 384, 3)), 0, 255).astype(np.uint8)
    return noisy, np.asarray(truth, bool)


def iou(a: np.ndarray, b: np.ndarray) -> float:
    return (a & b).sum() / (a | b).sum()


@pytest.mark.parametrize("backdrop", [(255, 255, 255), (40, 90, 200), (200, 200, 190)])
def test_garment_is_segmented_on_white_and_coloured_backdrops(backdrop):
    image, truth = _product(backdrop)
    assert iou(cloth_mask(image), truth) > 0.95


def test_a_print_in_the_backdrop_colour_is_filled_not_cut_out():
    image, truth = _product((255, 255, 255), print_colour=(255, 255, 255))
    mask = cloth_mask(image)
    assert mask[220, 195] and iou(mask, truth) > 0.95


def test_an_empty_backdrop_is_quarantined():
    with pytest.raises(Quarantine, match="no garment"):
        cloth_mask(np.full((512, 384, 3), 250, np.uint8))
