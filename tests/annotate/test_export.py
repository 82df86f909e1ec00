"""`vton export`: the VITON-HD and DressCode trees read back by loaders written to the published dataset
classes' conventions and by the project's own importers, without loss."""

from __future__ import annotations

import hashlib
import json
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from PIL import Image

from components.annotate.export import DRESSCODE_FRAME, dresscode_keypoints, export_dataset
from components.evaluate.pairs import unpaired_partners
from components.manifest.schema import read_manifest, write_manifest
from tests.annotate.published_loaders import DressCodeLoader, LayoutMismatch, VitonHDLoader
from tests.data.importers.trees import annotated_tree, dresscode_tree, import_tree

REPO = Path(__file__).resolve().parents[2]


def _sha(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


@pytest.fixture(scope="module")
def annotated(tmp_path_factory, real_photos) -> Path:
    """A DressCode source tree with every category and published unpaired lists, imported and annotated."""
    work = tmp_path_factory.mktemp("export")
    dresscode_tree(work / "dc", real_photos, {"upper_body": (2, 3), "lower_body": (1, 2), "dresses": (1, 2)})
    return annotated_tree("dresscode", work / "dc", work)


def _ok(directory: Path) -> pd.DataFrame:
    df = read_manifest(directory)
    ok = df[df["status"] == "ok"]
    return ok.set_index(ok["sample_id"].rename(None))


def _test_partners(ok: pd.DataFrame, category: str) -> dict[str, str]:
    test = ok[(ok["category"] == category) & (ok["split"] == "test")].sort_values("sample_id")
    return {p: g for p, (g, _) in unpaired_partners(test, test).items()}


def test_viton_hd_export_reads_back_with_the_published_loader_and_the_importer_without_loss(annotated, tmp_path):
    ok = _ok(annotated)
    tops = ok[ok["category"] == "upper_body"]
    assert (tops["split"] == "test").sum() >= 2, "the fixture needs two upper-body test persons"
    out = tmp_path / "viton"
    report = export_dataset(annotated, out, "viton-hd")
    assert report.total == len(tops)

    unpaired = VitonHDLoader(out, "test")  # test_pairs.txt: unpaired, as published
    partners = _test_partners(ok, "upper_body")
    assert len(unpaired) == len(partners)
    for i in range(len(unpaired)):
        item = unpaired[i]
        person, cloth = item["img_name"][:-7], item["c_name"][:-7]
        assert partners[person] == cloth != person
        source_mask = np.asarray(Image.open(annotated / ok.loc[cloth, "cloth_mask_path"])) > 127
        assert np.array_equal(item["cloth_mask"], source_mask)  # one channel, no pixel lost to JPEG
        assert item["parse"].shape == item["image"].shape[:2]
    paired = VitonHDLoader(out, "test", "test_pairs_paired.txt")
    assert {paired[i]["img_name"] for i in range(len(paired))} == {f"{s}_00.jpg" for s in partners}
    assert all(paired[i]["img_name"] == paired[i]["c_name"] for i in range(len(paired)))
    train = VitonHDLoader(out, "train")
    assert len(train) == (tops["split"] == "train").sum() and train[0]["cloth_mask"].ndim == 2

    back = import_tree("viton_hd", out, tmp_path / "reimported")
    assert (back["status"] == "ok").all() and len(back) == len(tops)
    by_name = {url.rsplit("/", 1)[-1][:-7]: row for url, (_, row) in zip(back["source_url"], back.iterrows())}
    for sid, row in tops.iterrows():
        again = by_name[sid]
        assert again["split"] == row["split"]
        assert again["person_sha256"] == _sha(annotated / row["person_path"])  # the same bytes, not re-encoded
        assert again["garment_sha256"] == _sha(annotated / row["garment_path"])
    for person, garment in partners.items():  # the unpaired pairs survive the round trip
        assert by_name[person]["unpaired_garment_sha256"] == by_name[garment]["garment_sha256"]


def test_viton_hd_export_skips_other_categories_and_the_command_prints_the_count(annotated, tmp_path):
    ok = _ok(annotated)
    out = tmp_path / "viton"
    proc = subprocess.run([sys.executable, "-m", "components.cli", "export", "--format", "viton-hd",
                           "--input", str(annotated), "--out", str(out)],
                          capture_output=True, text=True, cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    for category in ("lower_body", "dresses"):
        n = int((ok["category"] == category).sum())
        assert n and f"skipped x{n}: category {category} (VITON-HD holds tops only)" in proc.stdout
    quarantined = len(read_manifest(annotated)) - len(ok)
    if quarantined:
        assert f"skipped x{quarantined}: quarantined in the manifest" in proc.stdout
    listed = [line.split()[0][:-7] for line in (out / "train_pairs.txt").read_text().splitlines()]
    listed += [line.split()[0][:-7] for line in (out / "test_pairs.txt").read_text().splitlines()]
    assert set(ok.loc[listed, "category"]) == {"upper_body"}
    assert {p.name for p in (out / "test" / "image").iterdir()} == {f"{s}_00.jpg" for s in listed if
                                                                    ok.loc[s, "split"] == "test"}


def test_dresscode_export_reads_back_per_category_and_from_the_root_lists(annotated, tmp_path):
    ok = _ok(annotated)
    out = tmp_path / "dresscode"
    report = export_dataset(annotated, out, "dresscode")
    assert report.total == len(ok)
    categories = sorted(set(ok["category"]))
    for category in categories:
        rows = ok[ok["category"] == category]
        train = DressCodeLoader(out, "train", categories=[category], dense=False)
        assert len(train) == (rows["split"] == "train").sum()
        paired = DressCodeLoader(out, "test", "paired", categories=[category], dense=False)
        unpaired = DressCodeLoader(out, "test", "unpaired", categories=[category], dense=False)
        assert len(paired) == len(unpaired) == (rows["split"] == "test").sum()
        partners = _test_partners(ok, category)
        for i in range(len(unpaired)):
            item = unpaired[i]
            assert partners.get(item["im_name"][:-6], item["im_name"][:-6]) == item["c_name"][:-6]
            assert item["keypoints"].shape == (18, 4)
            source = annotated / ok.loc[item["im_name"][:-6], "person_path"]
            assert item["image"].shape == np.asarray(Image.open(source)).shape
        labels = paired[0]["labels"]
        assert labels.shape == paired[0]["image"].shape[:2] and labels.max() > 0  # ids, not a blank map

    for filename in ("train_pairs.txt", "test_pairs_paired.txt", "test_pairs_unpaired.txt"):
        lines = [line.split() for line in (out / filename).read_text().splitlines()]
        per_category = sum(len((out / c / filename).read_text().splitlines()) for c in categories)
        assert len(lines) == per_category and {parts[2] for parts in lines} <= set(categories)

    back = import_tree("dresscode", out, tmp_path / "reimported")
    assert (back["status"] == "ok").all(), back["quarantine_reason"].dropna().tolist()
    assert len(back) == len(ok)  # root and per-category lists name the same pairs once
    by_name = {url.rsplit("/", 1)[-1][:-6]: row for url, (_, row) in zip(back["source_url"], back.iterrows())}
    for sid, row in ok.iterrows():
        assert (by_name[sid]["category"], by_name[sid]["split"]) == (row["category"], row["split"])
        assert by_name[sid]["garment_sha256"] == _sha(annotated / row["garment_path"])
    for category in categories:
        for person, garment in _test_partners(ok, category).items():
            assert by_name[person]["unpaired_garment_sha256"] == by_name[garment]["garment_sha256"]


def test_dresscode_export_makes_no_empty_category_folders(annotated, tmp_path):
    ok = _ok(annotated)
    only = tmp_path / "only-dresses"
    shutil.copytree(annotated, only)
    df = read_manifest(only)
    df.loc[df["category"] != "dresses", "status"] = "quarantined"
    df.loc[df["category"] != "dresses", "quarantine_reason"] = "left out by the test"
    write_manifest(df, only)
    out = tmp_path / "dresscode"
    report = export_dataset(only, out, "dresscode")
    assert report.total == int((ok["category"] == "dresses").sum())
    assert sorted(p.name for p in out.iterdir() if p.is_dir()) == ["dresses"]
    assert not [d for d in out.rglob("*") if d.is_dir() and not any(d.iterdir())]


def test_dresscode_export_writes_dense_part_ids_and_uv_where_densepose_ran(annotated, tmp_path):
    """The IUV dumps here are constructed from each person mask (torso id, U/V ramps), standing in for DensePose."""
    with_dense = tmp_path / "with-dense"
    shutil.copytree(annotated, with_dense)
    df = read_manifest(with_dense)
    ok = df["status"] == "ok"
    dumps = {}
    for i in df.index[ok]:
        sid, split = df.at[i, "sample_id"], df.at[i, "split"]
        mask = np.asarray(Image.open(with_dense / df.at[i, "person_mask_path"])) > 127
        h, w = mask.shape
        iuv = np.zeros((h, w, 3), np.uint8)
        iuv[..., 0] = np.where(mask, 2, 0)
        iuv[..., 1] = np.where(mask, np.linspace(0, 255, w, dtype=np.uint8)[None, :], 0)
        iuv[..., 2] = np.where(mask, np.linspace(0, 255, h, dtype=np.uint8)[:, None], 0)
        rel = f"{split}/densepose-iuv/{sid}.png"
        (with_dense / rel).parent.mkdir(parents=True, exist_ok=True)
        Image.fromarray(iuv).save(with_dense / rel)
        df.at[i, "densepose_iuv_path"] = rel
        dumps[sid] = iuv
    write_manifest(df, with_dense)
    out = tmp_path / "dresscode"
    report = export_dataset(with_dense, out, "dresscode")
    assert not any("dense/ not written" in note for note in report.notes)
    loader = DressCodeLoader(out, "test", "unpaired")  # as the published class reads it: dense/ for every sample
    assert len(loader) == int((df[ok]["split"] == "test").sum())
    for i in range(len(loader)):
        item = loader[i]
        iuv = dumps[item["im_name"][:-6]]
        assert np.array_equal(item["dense_labels"], iuv[..., 0])
        assert item["dense_uv"].shape == (2, *iuv.shape[:2]) and item["dense_uv"].dtype == np.float32
        assert np.allclose(item["dense_uv"] * 255, np.stack([iuv[..., 1], iuv[..., 2]]), atol=1e-3)


def test_an_rgb_cloth_mask_is_what_the_published_viton_hd_loader_refuses(annotated, tmp_path):
    out = tmp_path / "viton"
    export_dataset(annotated, out, "viton-hd")
    first = (out / "test_pairs.txt").read_text().split()[1]
    mask = out / "test" / "cloth-mask" / first
    Image.open(mask).convert("RGB").save(mask)  # what the export used to write
    with pytest.raises(LayoutMismatch, match="one channel"):
        VitonHDLoader(out, "test")[0]


def test_dresscode_keypoints_move_into_the_384x512_frame_its_loader_assumes():
    doc = {"keypoints": [[96.0, 128.0, 0.9, 0.0], [0.0, 0.0, 0.0, 1.0]]}
    moved = dresscode_keypoints(doc, (192, 256))
    assert moved["keypoints"] == [[192.0, 256.0, 0.9, 0.0], [0.0, 0.0, 0.0, 1.0]]
    assert DRESSCODE_FRAME == (384, 512)


def test_exported_keypoints_match_the_annotated_ones_scaled(annotated, tmp_path):
    ok = _ok(annotated)
    out = tmp_path / "dresscode"
    export_dataset(annotated, out, "dresscode")
    sid, row = next(iter(ok.iterrows()))
    source = json.loads((annotated / row["keypoints_coco18_path"]).read_text())["keypoints"]
    exported = json.loads((out / row["category"] / "keypoints" / f"{sid}_2.json").read_text())["keypoints"]
    width, height = Image.open(annotated / row["person_path"]).size
    for (x, y, c, i), (x2, y2, c2, i2) in zip(source, exported):
        assert (x2, y2, c2, i2) == pytest.approx((x * 384 / width, y * 512 / height, c, i), abs=1e-3)
