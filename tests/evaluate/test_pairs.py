"""Evaluation pairs: the published unpaired lists when the manifest carries them, else the next-person rule."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from components.evaluate.pairs import build_pairs, pairing_notes
from components.manifest.schema import read_manifest, write_manifest
from tests.data.importers.trees import annotated_tree, dresscode_tree


@pytest.fixture(scope="module")
def annotated(tmp_path_factory, real_photos) -> tuple[Path, dict[str, list[str]]]:
    """A DressCode tree (3 upper-body and 2 dress test persons, published unpaired lists), imported and annotated."""
    work = tmp_path_factory.mktemp("dresscode")
    ids = dresscode_tree(work / "dc", real_photos, {"upper_body": (0, 3), "dresses": (0, 2)})
    return annotated_tree("dresscode", work / "dc", work), ids


def _dresscode_name(df: pd.DataFrame) -> dict[str, str]:
    """{sample id: DressCode person id} from the source path the importer recorded."""
    return {sid: url.rsplit("/", 1)[-1][:-6] for sid, url in zip(df["sample_id"], df["source_url"])}


def test_evaluate_pairs_each_test_person_with_the_garment_the_published_unpaired_list_gives(annotated):
    directory, ids = annotated
    df = read_manifest(directory)
    usable = df[(df["status"] == "ok") & df["agnostic_mask_path"].notna()]
    assert len(usable) >= 4, df[["status", "quarantine_reason"]]
    names = _dresscode_name(df)
    pairs = build_pairs(directory, 10)
    unpaired = [p for p in pairs if p.kind == "unpaired"]
    assert unpaired and all(p.published for p in unpaired)
    for p in unpaired:
        test = ids[p.category]
        person = names[p.person_id]
        assert names[p.garment_id] == test[test.index(person) - 1]  # the list's partner, not the next person
        garment_row = df[df["sample_id"] == p.garment_id].iloc[0]
        assert p.garment == (directory / garment_row["garment_path"]).resolve()
    assert pairing_notes(pairs) == [f"unpaired pairs: {len(unpaired)} of {len(unpaired)} from the published unpaired "
                                    "lists, 0 formed by the next-person rule"]


def test_a_published_partner_outside_the_per_category_cap_is_still_used(annotated):
    directory, ids = annotated
    pairs = build_pairs(directory, 1)
    unpaired = [p for p in pairs if p.kind == "unpaired"]
    assert len({p.person_id for p in pairs}) == len({p.category for p in pairs})  # one person per category
    assert unpaired and all(p.published and p.garment_id != p.person_id for p in unpaired)


def _constructed(directory: Path, refs: dict[str, str | None]) -> Path:
    """Three upper-body test samples a, b, c; `refs` maps a person to the garment sha256 its list names."""
    rows = [{"sample_id": s, "person_path": f"{s}.jpg", "garment_path": f"{s}_g.jpg", "agnostic_mask_path": f"{s}_m.png",
             "category": "upper_body", "split": "test", "status": "ok", "source": "constructed", "licence": "CC0",
             "garment_sha256": f"sha-{s}", "unpaired_garment_sha256": refs.get(s)} for s in ("a", "b", "c")]
    write_manifest(pd.DataFrame(rows), directory)
    return directory


def test_without_published_pairs_the_next_person_rule_stays(tmp_path):
    pairs = build_pairs(_constructed(tmp_path, {}), 10)
    assert [(p.person_id, p.garment_id) for p in pairs if p.kind == "unpaired"] == [("a", "b"), ("b", "c"), ("c", "a")]
    assert not any(p.published for p in pairs) and pairing_notes(pairs) == []


def test_the_next_person_rule_skips_a_person_wearing_the_same_garment(tmp_path):
    directory = _constructed(tmp_path, {})
    df = read_manifest(directory)
    df.loc[df["sample_id"] == "b", "garment_sha256"] = "sha-a"  # a and b: two shots of one person in one garment
    write_manifest(df, directory)
    chosen = {p.person_id: p.garment_id for p in build_pairs(directory, 10) if p.kind == "unpaired"}
    assert chosen == {"a": "c", "b": "c", "c": "a"}


def test_a_published_garment_no_usable_sample_holds_falls_back_to_the_rule_and_says_so(tmp_path):
    pairs = build_pairs(_constructed(tmp_path, {"a": "sha-c", "b": "sha-gone", "c": "sha-c"}), 10)
    chosen = {p.person_id: (p.garment_id, p.published) for p in pairs if p.kind == "unpaired"}
    # a: the published garment; b: its garment is in no usable sample; c: the list names its own garment.
    assert chosen == {"a": ("c", True), "b": ("c", False), "c": ("a", False)}
    assert pairing_notes(pairs) == ["unpaired pairs: 1 of 3 from the published unpaired lists, 2 formed by the "
                                    "next-person rule (1 of them because no usable test sample holds the published "
                                    "garment)"]


def test_a_published_list_naming_the_persons_own_garment_in_their_other_shot_falls_back_to_the_rule(tmp_path):
    directory = _constructed(tmp_path, {"b": "sha-a"})
    df = read_manifest(directory)
    df.loc[df["sample_id"] == "b", "garment_sha256"] = "sha-a"  # a and b: two shots of one person in one garment
    write_manifest(df, directory)
    pairs = build_pairs(directory, 10)
    chosen = {p.person_id: (p.garment_id, p.published, p.published_unusable) for p in pairs if p.kind == "unpaired"}
    # b's list names its own garment (row a holds those bytes): that is b's paired pair, never an unpaired one.
    assert chosen == {"a": ("c", False, False), "b": ("c", False, False), "c": ("a", False, False)}
    assert pairing_notes(pairs) == []


def test_an_unpaired_row_is_its_own_unpaired_pair_without_ground_truth_and_never_a_paired_one(tmp_path):
    directory = _constructed(tmp_path, {})
    df = read_manifest(directory)
    df.loc[df["sample_id"] == "b", "pairing"] = "unpaired"  # b's photo does not show b's garment
    write_manifest(df, directory)
    pairs = build_pairs(directory, 10)
    of_b = [p for p in pairs if p.person_id == "b"]
    assert [(p.kind, p.garment_id) for p in of_b] == [("unpaired", "b")]
    assert of_b[0].own_garment is None and of_b[0].own_width_ratio is None
    # The worn rows keep their paired pairs; b's garment may still be another person's unpaired garment.
    assert {p.person_id for p in pairs if p.kind == "paired"} == {"a", "c"}
    assert [(p.person_id, p.garment_id) for p in pairs if p.kind == "unpaired" and p.person_id != "b"] == [
        ("a", "c"), ("c", "a")]
