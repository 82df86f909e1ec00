"""The VITON-HD importer on trees with the published names: test_pairs.txt is the unpaired list."""

from __future__ import annotations

import hashlib

import pandas as pd

from tests.data.importers.trees import import_tree, viton_hd_tree


def _by_person(df):
    ok = df[df["status"] == "ok"]
    return {url.rsplit("/", 1)[-1]: row for url, (_, row) in zip(ok["source_url"], ok.iterrows())}


def test_published_test_pairs_give_each_person_their_own_cloth_and_record_the_unpaired_one(tmp_path, real_photos):
    names = viton_hd_tree(tmp_path / "vh", real_photos, n_train=1, n_test=3)
    df = import_tree("viton_hd", tmp_path / "vh", tmp_path / "out")
    assert (df["status"] == "ok").all() and len(df) == 4
    rows = _by_person(df)
    test = names[1:]
    for i, name in enumerate(test):
        row = rows[name]
        own = (tmp_path / "vh" / "test" / "cloth" / name).read_bytes()
        assert row["garment_sha256"] == hashlib.sha256(own).hexdigest()  # the ground truth: their own cloth
        assert row["unpaired_garment_sha256"] == rows[test[i - 1]]["garment_sha256"]
    assert rows[names[0]]["split"] == "train" and pd.isna(rows[names[0]]["unpaired_garment_sha256"])


def test_test_pairs_unpaired_wins_and_a_paired_list_alone_records_no_unpaired_garment(tmp_path, real_photos):
    names = viton_hd_tree(tmp_path / "vh", real_photos, n_train=0, n_test=3)
    root = tmp_path / "vh"
    (root / "test_pairs_paired.txt").write_text("".join(f"{n} {n}\n" for n in names))
    (root / "test_pairs_unpaired.txt").write_text("".join(f"{n} {names[(i + 1) % 3]}\n" for i, n in enumerate(names)))
    rows = _by_person(import_tree("viton_hd", root, tmp_path / "a"))
    assert len(rows) == 3
    for i, name in enumerate(names):
        assert rows[name]["unpaired_garment_sha256"] == rows[names[(i + 1) % 3]]["garment_sha256"]
    for name in ("test_pairs.txt", "test_pairs_unpaired.txt"):
        (root / name).unlink()
    df = import_tree("viton_hd", root, tmp_path / "b")
    assert len(df) == 3 and (df["status"] == "ok").all() and df["unpaired_garment_sha256"].isna().all()
