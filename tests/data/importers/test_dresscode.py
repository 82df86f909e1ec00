"""The DressCode importer on trees with the published names: per-category and root lists, unpaired lists."""

from __future__ import annotations

import hashlib

from tests.data.importers.trees import dresscode_tree, import_tree


def _by_person(df):
    """{DressCode person file name: manifest row} of the ok rows (the person's source path ends with it)."""
    ok = df[df["status"] == "ok"]
    return {url.rsplit("/", 1)[-1]: row for url, (_, row) in zip(ok["source_url"], ok.iterrows())}


def _root_only(root, ids, column):
    """Replace the per-category lists by root lists whose third column is `column(category)`."""
    for category in ids:
        for name in ("train_pairs.txt", "test_pairs_paired.txt", "test_pairs_unpaired.txt"):
            per = root / category / name
            with (root / name).open("a") as fh:
                fh.writelines(f"{line} {column(category)}\n" for line in per.read_text().splitlines())
            per.unlink()


def test_root_lists_with_category_names_import_every_pair_in_its_category(tmp_path, real_photos):
    ids = dresscode_tree(tmp_path / "dc", real_photos, {"upper_body": (1, 1), "lower_body": (1, 1), "dresses": (1, 1)})
    _root_only(tmp_path / "dc", ids, lambda category: category)
    df = import_tree("dresscode", tmp_path / "dc", tmp_path / "out")
    assert (df["status"] == "ok").all(), df["quarantine_reason"].dropna().tolist()
    assert df.groupby(["category", "split"]).size().to_dict() == {
        (c, s): 1 for c in ("upper_body", "lower_body", "dresses") for s in ("train", "test")}
    rows = _by_person(df)
    assert rows[f"{ids['dresses'][0]}_0.jpg"]["category"] == "dresses"


def test_root_lists_with_category_indices_import_like_names(tmp_path, real_photos):
    ids = dresscode_tree(tmp_path / "dc", real_photos, {"upper_body": (0, 2), "lower_body": (1, 1), "dresses": (0, 1)})
    index = {"upper_body": "0", "lower_body": "1", "dresses": "2"}
    _root_only(tmp_path / "dc", ids, index.get)
    df = import_tree("dresscode", tmp_path / "dc", tmp_path / "out")
    assert (df["status"] == "ok").all(), df["quarantine_reason"].dropna().tolist()
    rows = _by_person(df)
    for category, names in ids.items():
        assert {rows[f"{n}_0.jpg"]["category"] for n in names} == {category}


def test_a_root_line_naming_no_known_category_is_quarantined_with_its_line(tmp_path, real_photos):
    ids = dresscode_tree(tmp_path / "dc", real_photos, {"upper_body": (1, 0)})
    p = ids["upper_body"][0]
    (tmp_path / "dc" / "test_pairs_paired.txt").write_text(f"{p}_0.jpg {p}_1.jpg shoes\n")
    df = import_tree("dresscode", tmp_path / "dc", tmp_path / "out")
    bad = df[df["status"] == "quarantined"]
    assert len(bad) == 1
    reason = bad["quarantine_reason"].iloc[0]
    assert reason.startswith("test_pairs_paired.txt line 1") and "upper_body|lower_body|dresses|0|1|2" in reason


def test_a_two_column_root_line_takes_the_category_of_the_folder_holding_the_person(tmp_path, real_photos):
    ids = dresscode_tree(tmp_path / "dc", real_photos, {"lower_body": (1, 0)})
    p = ids["lower_body"][0]
    (tmp_path / "dc" / "lower_body" / "train_pairs.txt").unlink()
    (tmp_path / "dc" / "train_pairs.txt").write_text(f"{p}_0.jpg {p}_1.jpg\n")
    df = import_tree("dresscode", tmp_path / "dc", tmp_path / "out")
    assert df["status"].tolist() == ["ok"] and df["category"].tolist() == ["lower_body"]


def test_unpaired_lists_per_category_and_at_the_root_give_each_test_person_the_published_garment(
        tmp_path, real_photos):
    for layout in ("per_category", "root"):
        root = tmp_path / layout / "dc"
        ids = dresscode_tree(root, real_photos, {"upper_body": (1, 3), "dresses": (0, 2)})
        if layout == "root":
            _root_only(root, ids, lambda category: category)
        df = import_tree("dresscode", root, tmp_path / layout / "out")
        assert (df["status"] == "ok").all()
        rows = _by_person(df)
        for category, names in ids.items():
            test = names[-3:] if category == "upper_body" else names[-2:]
            for i, p in enumerate(test):
                partner = rows[f"{test[i - 1]}_0.jpg"]  # the tree pairs each person with the previous garment
                assert rows[f"{p}_0.jpg"]["unpaired_garment_sha256"] == partner["garment_sha256"], (layout, p)
        train = df[df["split"] == "train"]
        assert train["unpaired_garment_sha256"].isna().all()


def test_a_person_only_the_unpaired_list_names_is_imported_with_their_own_garment(tmp_path, real_photos):
    ids = dresscode_tree(tmp_path / "dc", real_photos, {"upper_body": (0, 2)})
    (tmp_path / "dc" / "upper_body" / "test_pairs_paired.txt").unlink()
    df = import_tree("dresscode", tmp_path / "dc", tmp_path / "out")
    rows = _by_person(df)
    assert len(rows) == 2 and (df["split"] == "test").all()
    images = tmp_path / "dc" / "upper_body" / "images"
    for p in ids["upper_body"]:
        assert rows[f"{p}_0.jpg"]["garment_sha256"] == hashlib.sha256((images / f"{p}_1.jpg").read_bytes()).hexdigest()
    a, b = (rows[f"{p}_0.jpg"] for p in ids["upper_body"])
    assert a["unpaired_garment_sha256"] == b["garment_sha256"] and b["unpaired_garment_sha256"] == a["garment_sha256"]
