import csv
import hashlib

import pytest

from components.data.sample_data import (
    DRESSES, IDENTITIES, PAIRED, PAIRS, PEOPLE, UNPAIRED, WORN, Pair, category_of, check_pairs,
    materialise_sample_data, photos, split_of,
)
from components.manifest.schema import CATEGORIES, SPLITS
from tests.conftest import run


def _digest(folder):
    return {p.relative_to(folder).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(folder.rglob("*")) if p.is_file()}


def _rows(folder):
    with (folder / "pairs.csv").open(newline="") as fh:
        return list(csv.DictReader(fh))


@pytest.fixture(scope="module")
def sample(tmp_path_factory):
    return materialise_sample_data(tmp_path_factory.mktemp("raw"))


def test_sample_data_is_byte_identical_when_materialised_twice(sample, tmp_path):
    assert _digest(sample) == _digest(materialise_sample_data(tmp_path / "b"))


def test_sample_has_people_in_train_and_test_for_every_category_paired_and_unpaired(sample):
    rows = [r for r in _rows(sample) if r["identity"]]  # people only (the cat photo has no identity)
    for category in CATEGORIES:
        for split in SPLITS:
            people = {r["identity"] for r in rows if r["category"] == category and r["split"] == split}
            # two test people per category: evaluation pairs each with the other's garment (unpaired)
            assert len(people) >= (2 if split == "test" else 1), (category, split)
    for category in CATEGORIES:  # dresses too: worn in the composites of each person's studio shot
        for split in SPLITS:
            kinds = {r["pairing"] for r in rows if r["category"] == category and r["split"] == split}
            assert kinds == {PAIRED, UNPAIRED}, (category, split)
            paired = {r["identity"] for r in rows
                      if r["category"] == category and r["split"] == split and r["pairing"] == PAIRED}
            assert len(paired) == 2, (category, split)  # both people of the split wear one
    assert 8 <= len(PAIRS) <= 30  # the smoke run stays minutes on two cores


def test_every_shot_that_shows_a_persons_garment_is_paired_with_it():
    paired = {(p.person, p.garment) for p in PAIRS if p.pairing == PAIRED}
    for g in WORN.values():
        shots = [p.key for p in PEOPLE if p.identity == photos()[g.photo].identity and p.dress is None]
        # the studio shot of openvto_3 ends above the ankles: its trousers are not all in view
        missing = {(s, g.key) for s in shots} - paired - {("p3_studio", "p3_jeans")}
        assert not missing, missing
    assert {(p.key, p.dress) for p in PEOPLE if p.dress} <= paired


def test_every_photo_of_one_person_shares_a_split_in_pairs_csv(sample):
    splits: dict[str, set[str]] = {}
    for r in _rows(sample):
        if r["identity"]:
            splits.setdefault(r["identity"], set()).add(r["split"])
    assert splits == {key: {identity.split} for key, identity in IDENTITIES.items()}
    shots = {p.identity: [] for p in PEOPLE}
    for p in PEOPLE:
        shots[p.identity].append(split_of(p))
    assert all(len(s) == 3 and len(set(s)) == 1 for s in shots.values())  # studio, everyday, dress composite


def test_paired_garments_are_cut_from_the_same_persons_photo(sample):
    by_key = photos()
    for p in PAIRS:
        if p.pairing == PAIRED:
            source = WORN[p.garment].photo if p.garment in WORN else f"{DRESSES[p.garment].photo[:2]}_in_dress"
            assert by_key[source].identity == by_key[p.person].identity
            assert category_of(p.garment) == (WORN[p.garment].category if p.garment in WORN else "dresses")


def test_check_pairs_refuses_garments_shared_across_splits_and_borrowed_paired_garments():
    check_pairs()
    with pytest.raises(ValueError, match="used in train and test"):
        check_pairs((Pair("p1_studio", "shirt_oxford", UNPAIRED), Pair("p2_studio", "shirt_oxford", UNPAIRED)))
    with pytest.raises(ValueError, match="same person"):
        check_pairs((Pair("p3_studio", "p1_hoodie", PAIRED),))
    with pytest.raises(ValueError, match="its own person only"):
        check_pairs((Pair("p3_studio", "p1_hoodie", UNPAIRED),))


def test_provenance_records_every_file_with_its_origin_and_licence(sample):
    provenance = (sample / "PROVENANCE.md").read_text()
    table = {line.split(" | ")[0].lstrip("| "): line for line in provenance.splitlines() if line.startswith("| ")}
    for p in sorted(sample.rglob("*.png")):
        rel = p.relative_to(sample).as_posix()
        assert rel in table, rel
        assert ("MIT" in table[rel] and "openvto" in table[rel]) or "CC0" in table[rel], table[rel]
    assert "drawn" in table["garment/dress_coffee.png"] and "CC0" in table["garment/dress_coffee.png"]
    for key in DRESSES:  # a composite says so, and what in it is real and what drawn
        person = table[f"person/{key[:2]}_in_dress.png"]
        assert "COMPOSITE" in person and "MIT" in person and "CC0" in person, person
        assert "DRAWN" in table[f"garment/{key}.png"] and "CC0" in table[f"garment/{key}.png"]
    assert "What is real" in provenance and "What is drawn" in provenance
    for r in _rows(sample):
        assert r["licence"] and r["source_url"]
    assert sum(p.stat().st_size for p in sample.rglob("*")) < 5 * 2**20


def test_materialised_sample_matches_the_md5_committed_in_data_dvc(workspace):
    # The workspace fixture materialises the sample into data/raw next to the repo's data.dvc.
    status = run(["dvc", "status", "data.dvc"], workspace).stdout
    assert "modified" not in status, status
    # Committing the files to the DVC cache must leave data.dvc exactly as git has it.
    run(["dvc", "commit", "--force", "data.dvc"], workspace)
    assert run(["git", "status", "--porcelain", "data.dvc"], workspace).stdout == ""
    assert "up to date" in run(["dvc", "status", "data.dvc"], workspace).stdout.lower()


def test_every_garment_has_a_cloth_mask_of_its_size_that_marks_its_non_white_pixels(sample):
    import numpy as np
    from PIL import Image

    for r in _rows(sample):
        garment = np.asarray(Image.open(sample / r["garment"]).convert("L"))
        mask = np.asarray(Image.open(sample / r["cloth_mask"]))
        assert mask.shape == garment.shape and set(np.unique(mask)) <= {0, 255}, r["cloth_mask"]
        # Outside the mask the garment image is white; inside, mostly cloth.
        assert (garment[mask == 0] >= 250).mean() > 0.97, r["cloth_mask"]
        assert 0.1 < (mask > 0).mean() < 0.9, r["cloth_mask"]


def test_a_dress_composite_keeps_the_real_photo_outside_the_dress(sample):
    import numpy as np
    from PIL import Image

    for key in DRESSES:
        n = key[1]
        studio = np.asarray(Image.open(sample / f"person/p{n}_studio.png")).astype(int)
        composite = np.asarray(Image.open(sample / f"person/p{n}_in_dress.png")).astype(int)
        assert studio.shape == composite.shape
        changed = np.abs(studio - composite).max(axis=2) > 12
        h = changed.shape[0]
        assert changed[: h // 8].mean() < 0.01  # the head and the backdrop above it are the real photo
        assert 0.1 < changed[h // 4: h // 2].mean() < 0.6  # the dress covers the torso, not the whole frame
        # Shaded, not a flat colour: the dress's pixels spread in brightness.
        assert composite[changed].std() > 8


def test_without_openvto_the_sample_command_says_what_to_install(tmp_path, monkeypatch):
    import sys

    from components.errors import ConfigError

    monkeypatch.setitem(sys.modules, "openvto", None)  # as if the package were not installed
    with pytest.raises(ConfigError, match="openvto") as info:
        materialise_sample_data(tmp_path)
    assert "pip install openvto==0.1.7" in str(info.value)
