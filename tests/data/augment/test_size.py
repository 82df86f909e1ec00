"""Size augmentation on the bundled sample's real photos: garment, cloth mask and worn region scaled together,
the agnostic mask grown, the new worn ratios and label recorded."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from components.annotate.params import AnnotateParams, MaskRules
from components.annotate.run import annotate_dataset
from components.data.augment.run import augment_dataset
from components.data.augment.sample import load_sample
from components.data.augment.size import draw_scale, rescale_garment, scaled_region
from components.data.params import AugmentParams
from components.fit.region import scale_region
from components.fit.columns import worn_region
from components.fit.params import FitParams, ScaleRange
from components.fit.ratios import worn_fit_ratios
from components.manifest.schema import read_manifest, resolve_path


@pytest.fixture(scope="module")
def annotated(tmp_path_factory) -> Path:
    """The bundled sample, imported and annotated with the smoke profile's rules."""
    from tests.project_copy import imported_sample

    root = tmp_path_factory.mktemp("proj")
    settings = AnnotateParams(mask=MaskRules(require_knees=["lower_body"], require_ankles=["lower_body"]))
    annotate_dataset(imported_sample(root), root / "annotated", settings, root / "cache")
    return root / "annotated"


def paired_train(annotated: Path, category: str) -> dict:
    df = read_manifest(annotated)
    rows = df[(df["category"] == category) & (df["split"] == "train") & (df["pairing"] == "paired")
              & (df["status"] == "ok")]
    assert len(rows) >= 1
    return {k: (None if isinstance(v, float) and np.isnan(v) else v) for k, v in rows.iloc[0].to_dict().items()}


def ratios(sample, category):
    return worn_fit_ratios(category, worn_region(category, sample.maps["parse"]), sample.keypoints,
                           sample.maps["person_mask"])


def colour(image: np.ndarray, mask: np.ndarray) -> np.ndarray:
    return image[mask].astype(float).mean(axis=0)


@pytest.mark.parametrize("category", ["upper_body", "lower_body"])
def test_a_larger_garment_scales_photo_cloth_mask_and_worn_region_together_and_grows_the_agnostic_mask(
        annotated, category):
    row = paired_train(annotated, category)
    before = load_sample(row, annotated)
    after = rescale_garment(before, category, 1.2, 1.0, agnostic_margin_px=9)
    worn_before = worn_region(category, before.maps["parse"])
    worn_after = worn_region(category, after.maps["parse"])
    # The worn region is exactly evaluate's scale_region of the old one (one convention for both).
    assert np.array_equal(worn_after, scale_region(worn_before, 1.2, 1.0))
    assert worn_after.sum() / worn_before.sum() == pytest.approx(1.2, rel=0.05)
    assert after.maps["cloth_mask"].sum() / before.maps["cloth_mask"].sum() == pytest.approx(1.2, rel=0.05)
    # The garment photo kept its colours inside the scaled cloth mask (the pixels moved with the mask).
    assert np.abs(colour(after.garment, after.maps["cloth_mask"]) - colour(before.garment, before.maps["cloth_mask"])
                  ).max() < 12
    # The person wears the wider garment: the new band shows the garment's own pixels, not the old ones.
    band = worn_after & ~worn_before
    assert band.sum() > 0.1 * worn_before.sum()
    _, src_row, src_col = scaled_region(worn_before, 1.2, 1.0)
    from_garment = before.person[src_row, src_col]  # the worn garment pixel each band pixel was moved from
    assert worn_before[src_row[band], src_col[band]].all()
    moved = np.abs(after.person[band].astype(int) - from_garment[band]).mean()
    stayed = np.abs(before.person[band].astype(int) - from_garment[band]).mean()
    assert moved < 12 < stayed, (moved, stayed)  # garment pixels (bilinear), no longer what was there
    # The agnostic mask covers the new garment and everything it covered before; the person mask holds it.
    assert (after.maps["agnostic_mask"] >= before.maps["agnostic_mask"]).all()
    assert after.maps["agnostic_mask"][worn_after].all()
    assert after.maps["agnostic_mask"].sum() > before.maps["agnostic_mask"].sum()
    assert after.maps["person_mask"][worn_after].all()
    assert (after.maps["agnostic"][after.maps["agnostic_mask"]] == 128).all()
    assert np.array_equal(after.keypoints, before.keypoints)  # the body is the same body
    assert ratios(after, category).width == pytest.approx(1.2 * ratios(before, category).width, rel=0.06)


def test_a_smaller_garment_uncovers_a_band_that_is_inpainted_and_relabelled_as_not_garment(annotated):
    row = paired_train(annotated, "upper_body")
    before = load_sample(row, annotated)
    after = rescale_garment(before, "upper_body", 0.88, 1.0, agnostic_margin_px=9)
    worn_before = worn_region("upper_body", before.maps["parse"])
    worn_after = worn_region("upper_body", after.maps["parse"])
    vacated = worn_before & ~worn_after
    assert vacated.sum() > 0 and (worn_after & worn_before).sum() > 0.95 * worn_after.sum()
    assert (after.maps["parse"][vacated] != before.maps["parse"][vacated]).all()
    assert not np.array_equal(after.person[vacated], before.person[vacated])  # filled, not left as the old garment
    assert (after.maps["agnostic_mask"] >= before.maps["agnostic_mask"]).all()  # still hides the old outline
    assert after.maps["person_mask"].sum() <= before.maps["person_mask"].sum()
    assert ratios(after, "upper_body").width == pytest.approx(0.88 * ratios(before, "upper_body").width, rel=0.06)


def test_scaled_region_anchors_on_the_top_centre_of_the_box():
    region = np.zeros((40, 40), bool)
    region[10:20, 15:25] = True
    out, _, _ = scaled_region(region, 2.0, 1.5)
    ys, xs = np.nonzero(out)
    assert (ys.min(), ys.max(), xs.min(), xs.max()) == (10, 24, 10, 29)


def test_draws_stay_inside_the_limits_and_move_the_width_at_least_the_minimum():
    rng = np.random.default_rng(0)
    draws = [draw_scale(ScaleRange(width=(0.85, 1.25), length=(0.95, 1.1)), 0.08, rng) for _ in range(200)]
    widths, lengths = np.array(draws).T
    assert widths.min() >= 0.85 and widths.max() <= 1.25 and (np.abs(widths - 1) >= 0.08 - 1e-4).all()
    assert (widths < 1).any() and (widths > 1).any()
    assert lengths.min() >= 0.95 and lengths.max() <= 1.1
    assert draw_scale(ScaleRange(width=(1.0, 1.0), length=(1.0, 1.0)), 0.08, rng) == (1.0, 1.0)


def test_augment_adds_size_variants_of_paired_train_rows_with_their_new_ratios_and_label(annotated, tmp_path):
    fit = FitParams.model_validate({"size_augment": {"enabled": True, "variants_per_sample": 2}})
    out, cache = tmp_path / "augmented", tmp_path / "cache"
    report = augment_dataset(annotated, out, AugmentParams(enabled=False), cache_dir=cache, fit=fit)
    df = read_manifest(out)
    kids = df[df["parent_id"].notna()]
    parents = df[df["sample_id"].isin(kids["parent_id"])]
    # Only the train rows whose photo shows their garment (paired): an unpaired photo shows another garment.
    assert set(parents["pairing"]) == {"paired"} and set(parents["split"]) == {"train"}
    assert report.size_variants == report.variants == len(kids) == 2 * len(parents) and not report.failed
    for _, kid in kids.iterrows():
        how = json.loads(kid["augmentation"])
        assert how["kind"] == "size"
        parent = parents[parents["sample_id"] == kid["parent_id"]].iloc[0]
        assert kid["fit_width_ratio"] == pytest.approx(how["scale"]["width"] * parent["fit_width_ratio"], rel=0.06)
        assert kid["fit_label"] in ("tight", "fitted", "loose")
        for col in ("person_path", "garment_path", "cloth_mask_path", "parse_path", "agnostic_mask_path",
                    "agnostic_path", "person_mask_path", "keypoints_path"):
            assert resolve_path(out, kid[col]).is_file(), col
    again = augment_dataset(annotated, tmp_path / "again", AugmentParams(enabled=False), cache_dir=cache, fit=fit)
    assert again.cached == again.variants == report.variants
    redo = read_manifest(tmp_path / "again")
    assert redo["fit_width_ratio"].fillna(-1).tolist() == df["fit_width_ratio"].fillna(-1).tolist()
    assert redo["fit_label"].fillna("").tolist() == df["fit_label"].fillna("").tolist()
    # The resized tops (width 1.16 x scale, bands 1.05-1.30) leave the fitted band: the label mix widens.
    assert set(kids["fit_label"]) - {"fitted"}


def test_size_augmentation_is_off_by_default(annotated, tmp_path):
    report = augment_dataset(annotated, tmp_path / "out", AugmentParams(enabled=False))
    assert report.variants == 0 and FitParams().size_augment.enabled is False


def test_transform_variants_measure_their_worn_ratios_again_from_the_moved_maps(annotated, tmp_path):
    report = augment_dataset(annotated, tmp_path / "out", AugmentParams(photometric=[]))
    df = read_manifest(tmp_path / "out")
    kids = df[df["parent_id"].notna()]
    assert report.variants == len(kids) > 0 and report.size_variants == 0
    for _, kid in kids.iterrows():
        parent = df[df["sample_id"] == kid["parent_id"]].iloc[0]
        sample = load_sample({k: v for k, v in kid.to_dict().items() if isinstance(v, str)}, tmp_path / "out")
        again = ratios(sample, kid["category"])
        assert kid["fit_width_ratio"] == pytest.approx(again.width, rel=1e-3, nan_ok=True)  # JSON keeps 3 decimals
        # An affine move scales garment and body alike: the fit stays about what it was.
        if np.isfinite(parent["fit_width_ratio"]) and np.isfinite(kid["fit_width_ratio"]):
            assert kid["fit_width_ratio"] == pytest.approx(parent["fit_width_ratio"], rel=0.12)
