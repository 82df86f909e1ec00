"""Bare photos' annotations remembered by content: the models run once per photo, across annotators sharing a
cache folder, refusals included; other settings or other pixels are annotated again."""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image

from components.annotate.params import AnnotateParams
from components.annotate.person import annotate_person
from components.annotate.photo_cache import PhotoAnnotator, pixels_sha256
from components.errors import Quarantine

SETTINGS = AnnotateParams(width=96, height=128)


def _model_calls(photos: PhotoAnnotator) -> int:
    return sum(a.calls for a in photos.annotators())


def test_a_photo_is_annotated_once_and_found_again_with_the_same_maps(tmp_path, real_photos):
    person = real_photos["astronaut"].resize((192, 192))
    photos = PhotoAnnotator(SETTINGS, tmp_path / "cache")
    frame, maps, box = photos.annotate(person)
    calls = _model_calls(photos)
    assert calls > 0 and (photos.computed, photos.reused) == (1, 0)
    again = photos.annotate(person.copy())
    assert _model_calls(photos) == calls and (photos.computed, photos.reused) == (1, 1)
    # A new process (a later `vton tryon`) reads the folder: no model call, the same maps and frame.
    later = PhotoAnnotator(SETTINGS, tmp_path / "cache")
    frame2, maps2, box2 = later.annotate(person)
    assert (later.computed, later.reused) == (0, 1) and later._annotators is None  # no model was even built
    assert np.array_equal(frame2, frame) and box2 == box and np.array_equal(again[1].person_mask, maps.person_mask)
    assert np.array_equal(maps2.keypoints_body25, maps.keypoints_body25)
    expected = annotate_person(person, photos.annotators(), SETTINGS.width, SETTINGS.height)
    assert np.array_equal(expected[1].person_mask, maps2.person_mask)


def test_other_pixels_or_other_settings_are_annotated_again(tmp_path, real_photos):
    person = real_photos["astronaut"].resize((192, 192))
    photos = PhotoAnnotator(SETTINGS, tmp_path / "cache")
    photos.annotate(person)
    edited = person.copy()
    edited.putpixel((0, 0), (1, 2, 3))
    assert pixels_sha256(edited) != pixels_sha256(person)
    photos.annotate(edited)
    assert photos.computed == 2
    wider = PhotoAnnotator(AnnotateParams(width=128, height=128), tmp_path / "cache")
    wider.annotate(person)
    assert wider.computed == 1 and len(list((tmp_path / "cache" / "maps").rglob("*.npz"))) == 3


def test_a_photo_without_a_person_is_refused_again_without_running_the_models(tmp_path, real_photos):
    cat = real_photos["chelsea"]
    photos = PhotoAnnotator(SETTINGS, tmp_path / "cache")
    with pytest.raises(Quarantine) as first:
        photos.annotate(cat)
    later = PhotoAnnotator(SETTINGS, tmp_path / "cache")
    with pytest.raises(Quarantine) as again:
        later.annotate(Image.fromarray(np.asarray(cat)))
    assert again.value.reason == first.value.reason and (later.computed, later.reused) == (0, 1)
