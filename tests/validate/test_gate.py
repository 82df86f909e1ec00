"""Every rule of the gate: a clean dataset passes, and a dataset that breaks exactly one rule fails naming it."""

from __future__ import annotations

import io
import json
from pathlib import Path

import pandas as pd
import pytest
from PIL import Image

from components.errors import GateFailed
from components.manifest.schema import conform
from components.validate.rules import RULE_NAMES
from components.validate.stage import enforce, validate_manifest
from tests.validate.factory import FRAME_AREA, keypoints_doc, smooth_image, gate_params, write_sample


def _row(df: pd.DataFrame, sid: str) -> int:
    return int(df.index[df["sample_id"] == sid][0])


def _add(root: Path, df: pd.DataFrame, n: int, category: str, split: str, seed0: int) -> pd.DataFrame:
    rows = [write_sample(root, f"x{seed0 + k}", smooth_image(seed0 + 2 * k), smooth_image(seed0 + 2 * k + 1),
                         category=category, split=split) for k in range(n)]
    return conform(pd.concat([df, pd.DataFrame(rows)], ignore_index=True))


def missing_parse_map(root: Path, df: pd.DataFrame) -> pd.DataFrame:
    df.loc[_row(df, "up1tr"), "parse_path"] = None
    return df


def deleted_agnostic_mask(root: Path, df: pd.DataFrame) -> pd.DataFrame:
    (root / df.loc[_row(df, "lo0tr"), "agnostic_mask_path"]).unlink()
    return df


def truncated_person_image(root: Path, df: pd.DataFrame) -> pd.DataFrame:
    path = root / df.loc[_row(df, "dr2tr"), "person_path"]
    path.write_bytes(path.read_bytes()[:200])
    return df


def tiny_person_image(root: Path, df: pd.DataFrame) -> pd.DataFrame:
    i = _row(df, "up2tr")
    df.loc[i, ["person_width", "person_height"]] = [90, 120]
    return df


def few_keypoints(root: Path, df: pd.DataFrame) -> pd.DataFrame:
    df.loc[_row(df, "lo1tr"), "keypoint_count"] = 5.0
    return df


def low_keypoint_confidence(root: Path, df: pd.DataFrame) -> pd.DataFrame:
    df.loc[_row(df, "lo1tr"), "keypoint_confidence_mean"] = 0.2
    return df


def trousers_without_knees(root: Path, df: pd.DataFrame) -> pd.DataFrame:
    path = root / df.loc[_row(df, "lo2tr"), "keypoints_path"]
    path.write_text(json.dumps(keypoints_doc(missing=(10, 13))))  # RKnee, LKnee
    return df


def tiny_dress_mask(root: Path, df: pd.DataFrame) -> pd.DataFrame:
    df.loc[_row(df, "dr0tr"), "cloth_mask_area"] = 0.01 * FRAME_AREA
    return df


def cloth_mask_fills_frame(root: Path, df: pd.DataFrame) -> pd.DataFrame:
    path = root / df.loc[_row(df, "up0tr"), "cloth_mask_path"]
    Image.new("L", Image.open(path).size, 255).save(path)
    return df


def too_few_lower_body_train(root: Path, df: pd.DataFrame) -> pd.DataFrame:
    return df[df["sample_id"] != "lo0tr"].reset_index(drop=True)


def upper_body_dominates(root: Path, df: pd.DataFrame) -> pd.DataFrame:
    df = _add(root, df, 6, "upper_body", "train", 100)
    return _add(root, df, 2, "upper_body", "test", 200)


def dresses_mostly_test(root: Path, df: pd.DataFrame) -> pd.DataFrame:
    return _add(root, df, 3, "dresses", "test", 300)


def shop_quarantines_everything(root: Path, df: pd.DataFrame) -> pd.DataFrame:
    extra = {"sample_id": "q1", "status": "quarantined", "quarantine_reason": "corrupt image", "category": "dresses",
             "split": "train", "source": "shop", "licence": "CC0", "source_url": "https://shop.invalid/1"}
    return conform(pd.concat([df, pd.DataFrame([extra])], ignore_index=True))


def duplicated_sample_id(root: Path, df: pd.DataFrame) -> pd.DataFrame:
    df.loc[_row(df, "up1tr"), "sample_id"] = "up0tr"
    return df


def duplicated_content(root: Path, df: pd.DataFrame) -> pd.DataFrame:
    a, b = _row(df, "dr0tr"), _row(df, "dr1tr")
    df.loc[b, ["person_sha256", "garment_sha256"]] = df.loc[a, ["person_sha256", "garment_sha256"]].to_numpy()
    return df


def garment_reencoded_into_test(root: Path, df: pd.DataFrame) -> pd.DataFrame:
    train, test = _row(df, "up0tr"), _row(df, "up3te")
    buf = io.BytesIO()
    Image.open(root / df.loc[train, "garment_path"]).convert("RGB").save(buf, format="JPEG", quality=70)
    jpeg = Image.open(io.BytesIO(buf.getvalue()))
    jpeg.save(root / df.loc[test, "garment_path"], format="PNG")
    from components.manifest.image_io import perceptual_hash

    df.loc[test, "garment_phash"] = perceptual_hash(jpeg)
    return df


def augmented_copy_of_test_sample(root: Path, df: pd.DataFrame) -> pd.DataFrame:
    df.loc[_row(df, "aug0"), "parent_id"] = "up3te"
    return df


def unknown_licence(root: Path, df: pd.DataFrame) -> pd.DataFrame:
    df.loc[_row(df, "lo3te"), "licence"] = "unknown"
    return df


def one_fit_label_for_dresses(root: Path, df: pd.DataFrame) -> pd.DataFrame:
    df.loc[df["category"] == "dresses", "fit_label"] = "fitted"
    return df


VIOLATIONS = {
    "completeness.annotations_present": missing_parse_map,
    "completeness.files_exist": deleted_agnostic_mask,
    "completeness.files_decode": truncated_person_image,
    "geometry.image_size": tiny_person_image,
    "geometry.keypoint_count": few_keypoints,
    "geometry.keypoint_confidence": low_keypoint_confidence,
    "geometry.required_keypoints": trousers_without_knees,
    "geometry.mask_area": tiny_dress_mask,
    "geometry.cloth_mask_border": cloth_mask_fills_frame,
    "distribution.samples_per_split": too_few_lower_body_train,
    "distribution.category_balance": upper_body_dominates,
    "distribution.test_fraction": dresses_mostly_test,
    "distribution.quarantine_rate": shop_quarantines_everything,
    "distribution.fit_label_mix": one_fit_label_for_dresses,
    "integrity.unique_ids": duplicated_sample_id,
    "integrity.unique_content": duplicated_content,
    "integrity.garment_leakage": garment_reencoded_into_test,
    "integrity.augmented_leakage": augmented_copy_of_test_sample,
    "integrity.provenance": unknown_licence,
    # integrity.person_leakage is proven on real photographs in test_leakage.py
}


def test_every_rule_has_a_violation_test() -> None:
    assert set(VIOLATIONS) | {"integrity.person_leakage"} == set(RULE_NAMES)


def test_clean_dataset_passes_every_rule(clean) -> None:
    root, df = clean
    result = validate_manifest(df, root, gate_params(), FRAME_AREA)
    assert [r.name for r in result.rules if not r.success] == []
    assert result.passed
    enforce(result)  # does not raise


@pytest.mark.parametrize("rule_name", list(VIOLATIONS))
def test_dataset_breaking_one_rule_fails_the_gate_naming_it(clean, rule_name: str) -> None:
    root, df = clean
    broken = VIOLATIONS[rule_name](root, df)
    # Each rule as an error here (distribution.fit_label_mix is a warning by default: see below).
    result = validate_manifest(broken, root, gate_params(severity={rule_name: "error"}), FRAME_AREA)
    assert [r.name for r in result.rules if not r.success] == [rule_name]
    with pytest.raises(GateFailed) as err:
        enforce(result)
    assert err.value.exit_code == 3
    assert rule_name in str(err.value)


def test_failures_are_counted_per_category_with_examples(clean) -> None:
    root, df = clean
    result = validate_manifest(trousers_without_knees(root, df), root, gate_params(), FRAME_AREA)
    rule = next(r for r in result.rules if r.name == "geometry.required_keypoints")
    assert rule.per_category == {"upper_body": 0, "lower_body": 1, "dresses": 0}
    assert rule.unexpected == 1 and rule.sample_ids == ["lo2tr"]
    assert "RKnee,LKnee" in rule.examples[0]
    assert "lower_body 1" in result.summary() and "lo2tr" in result.summary()


def test_warn_rules_are_reported_but_pass_and_off_rules_are_skipped(clean) -> None:
    root, df = clean
    broken = unknown_licence(root, trousers_without_knees(root, df))
    params = gate_params(severity={"geometry.required_keypoints": "warn", "integrity.provenance": "off"})
    result = validate_manifest(broken, root, params, FRAME_AREA)
    statuses = {r.name: r.status for r in result.rules}
    assert statuses["geometry.required_keypoints"] == "warned"
    assert statuses["integrity.provenance"] == "off"
    assert result.passed
    assert "Warnings (1): geometry.required_keypoints 1 failing" in result.summary()
    enforce(result)


def test_densepose_is_required_only_where_the_profile_says_so(clean) -> None:
    root, df = clean
    assert validate_manifest(df, root, gate_params(), FRAME_AREA).passed
    strict = gate_params(completeness={"require_densepose": True})
    result = validate_manifest(df, root, strict, FRAME_AREA)
    assert [r.name for r in result.failed] == ["completeness.annotations_present"]
    assert "missing_annotations=densepose_path" in result.failed[0].examples[0]


def test_one_fit_label_in_a_category_warns_by_default_and_the_report_counts_the_mix(clean) -> None:
    root, df = clean
    result = validate_manifest(one_fit_label_for_dresses(root, df), root, gate_params(), FRAME_AREA)
    rule = next(r for r in result.rules if r.name == "distribution.fit_label_mix")
    assert rule.status == "warned" and rule.severity == "warn" and result.passed
    assert "dresses" in rule.examples[0] and rule.per_category == {"upper_body": 0, "lower_body": 0, "dresses": 1}
    assert {k: result.figures["dresses"][f"n_fit_{k}"] for k in ("tight", "fitted", "loose")} == {
        "tight": 0.0, "fitted": 4.0, "loose": 0.0}
    assert result.figures["upper_body"]["n_fit_loose"] == 1.0 and result.figures["upper_body"]["n_fit_tight"] == 1.0
    enforce(result)  # a warning never stops the pipeline


def test_a_category_without_fit_labels_has_no_mix_to_warn_about(clean) -> None:
    root, df = clean
    df["fit_label"] = None
    result = validate_manifest(df, root, gate_params(), FRAME_AREA)
    assert next(r for r in result.rules if r.name == "distribution.fit_label_mix").success
    assert result.figures["overall"]["n_fit_unlabelled"] == result.figures["overall"]["n_ok"]
