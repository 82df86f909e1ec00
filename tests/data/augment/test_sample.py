"""Every transform keeps keypoints, masks, label maps and DensePose aligned with the person image (measured
on pixels that encode their own labels), and a flip swaps left and right."""

from __future__ import annotations

import numpy as np
import pytest

from components.data.augment.mirror import BODY25_FLIP, DENSEPOSE_FLIP, LIP_FLIP
from components.data.augment.sample import SampleArrays, augment_sample
from components.data.params import AugmentParams, TransformSpec
from tests.data.augment.annotated import BLUE, GREY, MAGENTA, MARKERS, RED, garment_arrays, keypoints, person_arrays

GEOMETRIC = {
    "flip": [],
    "affine": [TransformSpec(name="Affine", p=1.0, args={"rotate": [18, 18], "scale": [1.15, 1.15],
                                                         "translate_percent": [0.04, 0.04], "fill": 255})],
    "perspective": [TransformSpec(name="Perspective", p=1.0, args={"scale": [0.06, 0.08], "fill": 255})],
    "crop": [TransformSpec(name="RandomResizedCrop", p=1.0, args={"size": [128, 96], "scale": [0.6, 0.8]})],
}


def sample() -> SampleArrays:
    arr = person_arrays(keypoints())
    garment, cloth = garment_arrays()
    return SampleArrays(person=arr["image"], garment=garment, keypoints=keypoints(),
                        maps={"person_mask": arr["mask"], "parse": arr["parse"], "agnostic_mask": arr["agnostic_mask"],
                              "agnostic": arr["agnostic"], "densepose": arr["densepose"], "cloth_mask": cloth})


def near(img: np.ndarray, colour: tuple, tol: int = 60) -> np.ndarray:
    return np.abs(img.astype(int) - np.array(colour)).sum(-1) < tol


def iou(a: np.ndarray, b: np.ndarray) -> float:
    return float((a & b).sum() / max((a | b).sum(), 1))


def assert_aligned(pixels: np.ndarray, region: np.ndarray) -> None:
    """`pixels` agree with `region` (>70%), and (within 0.01: sub-pixel) best at zero offset among shifts of up
    to 2 px; a whole pixel of misalignment costs about 0.03 here."""
    score = {(dy, dx): float(np.roll(pixels, (dy, dx), (0, 1))[region].mean())
             for dy in range(-2, 3) for dx in range(-2, 3)}
    assert score[(0, 0)] > 0.7, score[(0, 0)]
    assert score[(0, 0)] >= max(score.values()) - 0.01, score


def marker_at(img: np.ndarray, x: float, y: float) -> int:
    """Index of the marker colour nearest to the pixel under (x, y)."""
    px = img[int(round(y)), int(round(x))].astype(int)
    return int(np.argmin([np.abs(px - np.array(c)).sum() for c in MARKERS]))


def params(transforms: list[TransformSpec], flip: bool) -> AugmentParams:
    return AugmentParams(garment_flip=flip, flip_p=1.0, person_transforms=transforms,
                         garment_transforms=transforms, photometric=[])


CASES = [("flip", True)] + [(name, flip) for name in ("affine", "perspective", "crop") for flip in (False, True)]


@pytest.mark.parametrize(("name", "flip"), CASES, ids=[f"{n}{'+flip' if f and n != 'flip' else ''}" for n, f in CASES])
def test_maps_and_keypoints_stay_aligned_with_the_image(name, flip):
    src = sample()
    out, how = augment_sample(src, params(GEOMETRIC[name], flip), seed=7)
    img = out.person
    assert how["flip"] is flip

    # Keypoints: the marker under each surviving point is that point's marker (its mirror twin's after a flip).
    survived = np.flatnonzero(out.keypoints[:, 2] > 0)
    assert len(survived) >= 12
    for i in survived:
        source_index = BODY25_FLIP[i] if flip else i
        assert marker_at(img, *out.keypoints[i, :2]) == source_index, (name, i)
    assert not (out.keypoints[[BODY25_FLIP[20], BODY25_FLIP[23]] if flip else [20, 23]] != 0).any()  # missing stay missing

    # Person mask against the mask re-derived from the image (everything not white).
    derived = np.abs(img.astype(int) - 255).sum(-1) > 90
    assert iou(derived, out.maps["person_mask"]) > 0.93

    # Parsing: label 14 covers red pixels, 15 blue; after a flip the ids swap (the red arm is now 15).
    # Markers and interpolated edges cover part of each arm, so the agreement is below 1; a misalignment
    # would show as a better agreement at a shifted position.
    left, right = (15, 14) if flip else (14, 15)
    parse = out.maps["parse"]
    assert_aligned(near(img, RED), parse == left)
    assert_aligned(near(img, BLUE), parse == right)
    # DensePose hands follow the same swap (3 right hand, 4 left hand).
    assert_aligned(near(img, RED), out.maps["densepose"][..., 0] == (4 if flip else 3))

    # Agnostic mask against the grey region of the agnostic image; cloth mask against the garment's magenta.
    assert iou(near(out.maps["agnostic"], GREY, 30), out.maps["agnostic_mask"]) > 0.9
    assert iou(near(out.garment, MAGENTA), out.maps["cloth_mask"]) > 0.93


def test_keypoints_that_leave_the_frame_become_missing():
    shift = [TransformSpec(name="Affine", p=1.0, args={"translate_px": {"x": [40, 40], "y": [0, 0]}, "fill": 255})]
    out, _ = augment_sample(sample(), params(shift, False), seed=1)
    kp = keypoints()
    gone = (kp[:, 2] > 0) & (kp[:, 0] + 40 > 95)
    assert gone.sum() >= 5
    assert (out.keypoints[gone] == 0).all()
    kept = (kp[:, 2] > 0) & ~gone
    np.testing.assert_allclose(out.keypoints[kept, 0], kp[kept, 0] + 40, atol=0.5)


def test_photometric_change_is_identical_on_person_and_garment():
    jitter = [TransformSpec(name="ColorJitter", p=1.0, args={"brightness": [0.6, 0.6], "contrast": 0, "saturation": 0,
                                                             "hue": 0})]
    src = sample()
    p = AugmentParams(person_transforms=[], garment_transforms=[], photometric=jitter)
    out, how = augment_sample(src, p, seed=3)
    magenta_in_person = tuple(int(v) for v in out.person[0, 0])  # white background in both
    assert magenta_in_person == tuple(int(v) for v in out.garment[0, 0])
    assert magenta_in_person != (255, 255, 255)
    assert how["photometric"][0]["name"] == "ColorJitter"


def test_same_seed_same_variant_other_seed_other_variant():
    p = AugmentParams(garment_flip=True)
    a, how_a = augment_sample(sample(), p, seed=11)
    b, how_b = augment_sample(sample(), p, seed=11)
    c, how_c = augment_sample(sample(), p, seed=12)
    assert how_a == how_b and np.array_equal(a.person, b.person) and np.array_equal(a.maps["parse"], b.maps["parse"])
    assert how_a != how_c


def test_mirror_tables_swap_the_documented_pairs_and_nothing_else():
    for table, pairs in ((LIP_FLIP, [(14, 15), (16, 17), (18, 19)]), (DENSEPOSE_FLIP, [(3, 4), (23, 24)])):
        assert (table[table] == np.arange(len(table))).all()  # an involution
        for a, b in pairs:
            assert table[a] == b and table[b] == a
    assert LIP_FLIP[5] == 5 and DENSEPOSE_FLIP[1] == 1 and BODY25_FLIP[1] == 1 and BODY25_FLIP[2] == 5
