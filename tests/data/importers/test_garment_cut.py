"""The garment-cut rule on binary and multi-label masks, and the cut itself, on a real photo."""

import io

import numpy as np
import pytest
from PIL import Image

from components.data.importers.garment_cut import (
    DEEPFASHION_LABELS,
    checked_region,
    cut_garment,
    decode_mask,
    fit_region,
    garment_region,
    label_map,
    parse_label,
)
from components.errors import Quarantine
from tests.data.importers.deepfashion_standin import PANTS, SKIN, TOP, derived_labels


@pytest.fixture
def photo(real_photos):
    return real_photos["astronaut"].resize((192, 256))


def _encode(img: Image.Image, fmt: str = "PNG") -> bytes:
    buf = io.BytesIO()
    img.save(buf, format=fmt, quality=75) if fmt == "JPEG" else img.save(buf, format=fmt)
    return buf.getvalue()


def test_a_binary_mask_marks_every_foreground_pixel_as_the_garment(photo):
    labels = derived_labels(photo, "binary")
    mask = label_map(Image.fromarray(labels, "L"))
    assert mask.binary
    region = garment_region(mask, DEEPFASHION_LABELS["lower_body"])
    assert region.sum() > 0.9 * (labels > 0).sum()  # only specks far smaller than the garment are dropped


def test_a_binary_mask_saved_as_jpeg_is_thresholded_not_read_as_labels(photo):
    labels = derived_labels(photo, "binary")
    decoded = Image.open(io.BytesIO(_encode(Image.fromarray(labels, "L"), "JPEG")))
    mask = label_map(decoded)
    assert mask.binary
    assert abs(int(mask.labels.sum()) - int((labels > 0).sum())) < 0.05 * (labels > 0).sum()


def test_a_multi_label_mask_gives_each_category_only_its_own_labels(photo):
    labels = derived_labels(photo, "parse")
    mask = label_map(Image.fromarray(labels, "L"))
    assert not mask.binary
    upper = garment_region(mask, DEEPFASHION_LABELS["upper_body"])
    lower = garment_region(mask, DEEPFASHION_LABELS["lower_body"])
    assert upper.any() and lower.any() and not (upper & lower).any()
    assert not upper[labels == SKIN].any() and not lower[labels == SKIN].any()
    assert lower[labels == PANTS].mean() > 0.9 and not lower[labels == TOP].any()


def test_a_colour_mask_is_read_with_colour_labels(photo):
    labels = derived_labels(photo, "parse")
    palette = {0: (0, 0, 0), TOP: (255, 0, 0), PANTS: (0, 0, 255), SKIN: (250, 200, 160)}
    rgb = np.zeros((*labels.shape, 3), np.uint8)
    for label, colour in palette.items():
        rgb[labels == label] = colour
    mask = label_map(Image.fromarray(rgb, "RGB"))
    region = garment_region(mask, (parse_label("#0000ff"),))
    assert region.any() and not region[labels != PANTS].any()


def test_an_empty_mask_is_a_quarantine_naming_the_column(photo):
    empty = label_map(Image.new("L", photo.size, 0))
    with pytest.raises(Quarantine, match="mask column 'mask' is empty"):
        checked_region(empty, DEEPFASHION_LABELS["upper_body"], "upper_body", "mask")
    with pytest.raises(Quarantine, match="mask column 'seg' is empty"):
        decode_mask(b"", "seg")
    with pytest.raises(Quarantine, match="does not decode"):
        decode_mask(b"\x89PNG\r\n\x1a\nbroken", "mask")


def test_a_mask_without_the_category_labels_is_a_quarantine_listing_those_present(photo):
    labels = derived_labels(photo, "parse")
    with pytest.raises(Quarantine, match=r"no dresses pixels .* labels present: \[0, 1, 5, 15\]"):
        checked_region(label_map(Image.fromarray(labels, "L")), DEEPFASHION_LABELS["dresses"], "dresses", "mask")


def test_the_cut_is_tight_on_white_and_keeps_the_photo_inside_the_region(photo):
    region = np.zeros((256, 192), bool)
    region[100:180, 50:140] = True
    region[120:130, 60:70] = False  # a hole: white, not photo
    cut = cut_garment(photo, region)
    assert cut.size == (90 + 8, 80 + 8)  # the region plus the margin
    pixels = np.asarray(cut)
    assert (pixels[0] == 255).all() and (pixels[24, 14] == 255).all()
    assert (pixels[40, 40] == np.asarray(photo)[136, 86]).all()


def test_a_mask_at_another_scale_is_resized_and_one_of_another_shape_refused():
    region = np.zeros((128, 96), bool)
    region[10:60, 20:40] = True
    assert fit_region(region, (192, 256), "mask").shape == (256, 192)
    with pytest.raises(Quarantine, match="is 96x128, the photo 256x256"):
        fit_region(region, (256, 256), "mask")


def test_a_colour_mask_without_the_category_colours_names_the_colours_present(photo):
    rgb = np.zeros((256, 192, 3), np.uint8)
    rgb[60:200, 40:150] = (255, 0, 0)
    rgb[100:120, 60:80] = (0, 128, 255)
    with pytest.raises(Quarantine, match=r"labels present: \[0, #0080ff, #ff0000\]"):
        checked_region(label_map(Image.fromarray(rgb, "RGB")), DEEPFASHION_LABELS["upper_body"], "upper_body", "mask")
