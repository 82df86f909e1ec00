"""The pure maths of the pose model's second looks: greyscale test, retry variants, sizes, hiding."""

import io

import numpy as np
from PIL import Image, ImageOps

from components.annotate.second_look import (
    EQUALISED, HIDE_GREY, PERSON_CROP, UPSCALED_2X, Variant, body_silhouette, body_size, hidden, is_greyscale,
    retry_variants, same_person,
)


def _landmarks(shoulders=((0.4, 0.3), (0.6, 0.3)), hips=((0.42, 0.6), (0.58, 0.6)), hip_visibility=1.0):
    lms = np.zeros((33, 3), np.float32)
    lms[:, 2] = 1.0
    lms[:, :2] = 0.5
    lms[[0, 7, 8], :2] = ((0.5, 0.2), (0.55, 0.2), (0.45, 0.2))  # nose, ears
    lms[[11, 12], :2] = shoulders
    lms[[23, 24], :2] = hips
    lms[[23, 24], 2] = hip_visibility
    return lms


def test_greyscale_is_told_from_colour_on_real_photos_jpeg_noise_included(real_photos):
    assert not is_greyscale(np.asarray(real_photos["astronaut"]))
    grey = ImageOps.grayscale(real_photos["astronaut"]).convert("RGB")
    buf = io.BytesIO()
    grey.save(buf, format="JPEG", quality=90)  # chroma noise of a greyscale photo saved as colour JPEG
    assert is_greyscale(np.asarray(Image.open(buf).convert("RGB")))
    assert is_greyscale(np.asarray(real_photos["camera"]))


def test_retry_variants_come_in_order_and_map_crop_landmarks_back_to_the_photo():
    image = np.full((200, 100, 3), 90, np.uint8)
    mask = np.zeros((200, 100), bool)
    mask[100:180, 40:80] = True
    variants = list(retry_variants(image, mask))
    assert [v.attempt for v in variants] == [EQUALISED, PERSON_CROP, UPSCALED_2X]
    crop = variants[1]
    lms = np.array([[0.0, 0.0, 1.0], [1.0, 1.0, 1.0]], np.float32)
    back = crop.to_photo(lms) * (100, 200, 1)
    h, w = crop.image.shape[:2]
    assert np.allclose(back[0, :2], (crop.x0 * 100, crop.y0 * 200)) and np.allclose(back[1, :2] - back[0, :2], (w, h))
    assert variants[2].image.shape[:2] == (400, 200)
    assert np.allclose(Variant(UPSCALED_2X, variants[2].image).to_photo(lms), lms)  # normalised: unchanged


def test_no_crop_is_tried_when_the_person_mask_fills_the_photo_or_is_empty():
    image = np.full((120, 90, 3), 90, np.uint8)
    assert PERSON_CROP not in [v.attempt for v in retry_variants(image, np.ones((120, 90), bool))]
    assert PERSON_CROP not in [v.attempt for v in retry_variants(image, np.zeros((120, 90), bool))]
    assert PERSON_CROP not in [v.attempt for v in retry_variants(image, None)]


def test_body_size_ignores_hips_the_model_extrapolated_below_the_frame():
    seen = _landmarks()
    below = _landmarks(hips=((0.42, 1.6), (0.58, 1.6)), hip_visibility=0.01)
    assert np.isclose(body_size(seen, 100, 100), 30.0)  # shoulder-to-hip beats the 20 px shoulder width
    assert np.isclose(body_size(below, 100, 100), 20.0)  # shoulders only


def test_the_hiding_silhouette_covers_the_body_and_hidden_paints_it_grey():
    lms = _landmarks()
    region = body_silhouette(lms, 100, 100)
    assert region[30, 50] and region[45, 50] and region[20, 50]  # shoulders, chest, head
    assert not region[5, 5] and not region[95, 95]
    image = np.zeros((100, 100, 3), np.uint8)
    out = hidden(image, region)
    assert (out[region] == HIDE_GREY).all() and (out[~region] == 0).all() and (image == 0).all()


def test_one_person_found_twice_is_the_same_person_someone_beside_is_not():
    a = _landmarks()
    nudged = _landmarks(shoulders=((0.42, 0.31), (0.62, 0.31)))
    beside = _landmarks(shoulders=((0.7, 0.3), (0.9, 0.3)))
    assert same_person(a, nudged, 100, 100)
    assert not same_person(a, beside, 100, 100)
