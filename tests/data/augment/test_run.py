"""`augment_dataset` and `vton data augment`: every input row kept, train rows gain variants, test never."""

from __future__ import annotations

import json

import pytest

from components.data.augment.run import augment_dataset
from components.data.params import AugmentParams, TransformSpec
from components.errors import ConfigError
from components.manifest.schema import read_manifest, resolve_path
from tests.data.augment.annotated import build_annotated


@pytest.fixture
def annotated(tmp_path):
    root = tmp_path / "data" / "annotated"
    build_annotated(root)
    return root


def test_train_samples_gain_variants_that_keep_their_split_and_parent(annotated, tmp_path):
    out = tmp_path / "data" / "augmented"
    report = augment_dataset(annotated, out, AugmentParams(variants_per_sample=2, garment_flip=True))
    df = read_manifest(out)

    assert report.variants == 4 and len(df) == 4 + 4
    parents = df[df["parent_id"].isna()]
    children = df[df["parent_id"].notna()]
    assert set(children["parent_id"]) == {"0000000000000001", "0000000000000002"}  # never the test sample
    assert (children["split"] == "train").all() and (children["status"] == "ok").all()
    # Input rows point back into the annotated directory; every file of every ok row exists.
    assert parents["person_path"].dropna().str.startswith("../annotated/").all()
    for _, row in df[df["status"] == "ok"].iterrows():
        for col in ("person_path", "garment_path", "parse_path", "keypoints_path", "agnostic_mask_path",
                    "densepose_path", "densepose_iuv_path", "cloth_mask_path", "keypoints_coco18_path"):
            assert resolve_path(out, row[col]).is_file(), (row["sample_id"], col)
    how = json.loads(children.iloc[0]["augmentation"])
    assert {"seed", "variant", "flip", "person", "garment", "photometric"} <= set(how)
    assert children["keypoint_count"].notna().all() and children["person_mask_area"].gt(0).all()


def test_augmentation_is_deterministic_given_the_seed(annotated, tmp_path):
    a, b, c = (tmp_path / n for n in ("a", "b", "c"))
    augment_dataset(annotated, a, AugmentParams(seed=5))
    augment_dataset(annotated, b, AugmentParams(seed=5))
    augment_dataset(annotated, c, AugmentParams(seed=6))
    da, db, dc = (read_manifest(d) for d in (a, b, c))
    kids = da[da["parent_id"].notna()]
    assert da["sample_id"].tolist() == db["sample_id"].tolist()
    for rel in kids["person_path"]:
        assert (a / rel).read_bytes() == (b / rel).read_bytes()
    assert set(kids["sample_id"]) != set(dc[dc["parent_id"].notna()]["sample_id"])


def test_garments_are_not_mirrored_unless_configured(annotated, tmp_path):
    augment_dataset(annotated, tmp_path / "o", AugmentParams(flip_p=1.0, variants_per_sample=3))
    kids = read_manifest(tmp_path / "o").dropna(subset=["parent_id"])
    assert not any(json.loads(a)["flip"] for a in kids["augmentation"])
    with pytest.raises(ConfigError, match="HorizontalFlip is not allowed"):
        augment_dataset(annotated, tmp_path / "p", AugmentParams(person_transforms=[TransformSpec(name="HorizontalFlip")]))
    with pytest.raises(ConfigError, match="not a colour transform"):
        augment_dataset(annotated, tmp_path / "p", AugmentParams(photometric=[TransformSpec(name="Affine")]))


def test_disabled_augmentation_passes_rows_through(annotated, tmp_path):
    augment_dataset(annotated, tmp_path / "o", AugmentParams(enabled=False))
    df = read_manifest(tmp_path / "o")
    assert len(df) == 4 and df["parent_id"].isna().all()


def test_augmented_image_densepose_is_the_idm_vton_rendering_of_the_moved_part_map(annotated, tmp_path):
    import numpy as np
    from PIL import Image

    from components.annotate.layout import render_densepose

    out = tmp_path / "out"
    augment_dataset(annotated, out, AugmentParams(variants_per_sample=1, seed=3))
    df = read_manifest(out)
    child = df[df["parent_id"].notna()].iloc[0]
    iuv = np.asarray(Image.open(resolve_path(out, child["densepose_iuv_path"])).convert("RGB"))
    shown = np.asarray(Image.open(resolve_path(out, child["densepose_path"])).convert("RGB"))
    assert iuv[..., 0].max() > 0, "the moved part map keeps its part ids"
    assert np.array_equal(shown, render_densepose(iuv[..., 0]))


def _tree(root):
    """{relative path: bytes} of every file under `root`."""
    return {p.relative_to(root): p.read_bytes() for p in root.rglob("*") if p.is_file()}


def test_a_rerun_after_the_outputs_were_deleted_links_cached_variants_back_without_augmenting(
        annotated, tmp_path, monkeypatch):
    import shutil

    import components.data.augment.run as run

    out, cache = tmp_path / "data" / "augmented", tmp_path / "cache"
    params = AugmentParams(variants_per_sample=2, garment_flip=True)
    first = augment_dataset(annotated, out, params, cache_dir=cache)
    uncached = augment_dataset(annotated, tmp_path / "data" / "plain", params)
    assert _tree(out) == _tree(tmp_path / "data" / "plain")  # the cache changes no byte of the output
    before = _tree(out)
    shutil.rmtree(out)  # what `dvc repro` does before it runs a changed stage

    def no_augment(*args, **kwargs):
        raise AssertionError("a cached variant was augmented again")

    monkeypatch.setattr(run, "augment_sample", no_augment)
    monkeypatch.setattr(run, "load_sample", no_augment)
    again = augment_dataset(annotated, out, params, cache_dir=cache)
    assert first.cached == 0 and uncached.variants == again.variants == again.cached == 4
    assert _tree(out) == before


def test_a_rerun_hashes_no_parent_file_that_is_unchanged_since_the_last_run(annotated, tmp_path, monkeypatch):
    import components.file_digests as digest_store
    import components.data.augment.run as run

    cache = tmp_path / "cache"
    params = AugmentParams(variants_per_sample=1)
    augment_dataset(annotated, tmp_path / "a", params, cache_dir=cache)
    hashed = []
    real = digest_store.sha256_file
    for module in (digest_store, run):  # every name the stage could hash a parent's file through
        monkeypatch.setattr(module, "sha256_file", lambda path: hashed.append(path) or real(path))
    again = augment_dataset(annotated, tmp_path / "b", params, cache_dir=cache)
    assert again.cached == again.variants == 2 and hashed == []


def test_a_changed_parent_or_param_augments_again_and_more_variants_reuse_the_made_ones(annotated, tmp_path):
    from components.manifest.schema import read_manifest as read

    cache = tmp_path / "cache"
    augment_dataset(annotated, tmp_path / "a", AugmentParams(variants_per_sample=1), cache_dir=cache)
    more = augment_dataset(annotated, tmp_path / "b", AugmentParams(variants_per_sample=2), cache_dir=cache)
    assert more.cached == 2 and more.variants == 4  # variant 0 of each parent is the same draw
    other_seed = augment_dataset(annotated, tmp_path / "c", AugmentParams(variants_per_sample=1, seed=9),
                                 cache_dir=cache)
    assert other_seed.cached == 0
    row = read(annotated).query("split == 'train' and status == 'ok'").iloc[0]
    (annotated / row["parse_path"]).write_bytes((annotated / row["person_mask_path"]).read_bytes())
    changed = augment_dataset(annotated, tmp_path / "d", AugmentParams(variants_per_sample=1), cache_dir=cache)
    assert changed.cached == 1  # the other parent's variant only


def test_an_unchanged_rerun_puts_files_and_manifest_back_without_reading_planning_or_writing_a_manifest(
        annotated, tmp_path, monkeypatch):
    import shutil

    import components.data.augment.run as run

    out, cache = tmp_path / "data" / "augmented", tmp_path / "cache"
    params = AugmentParams(variants_per_sample=2)
    first = augment_dataset(annotated, out, params, cache_dir=cache)
    before = _tree(out)
    (out / "train" / "image" / "stale.jpg").write_bytes(b"left by an older run")

    def no_work(*args, **kwargs):
        raise AssertionError("an unchanged re-run read, planned or wrote a manifest")

    for name in ("read_manifest", "write_manifest", "_plan"):
        monkeypatch.setattr(run, name, no_work)
    kept = augment_dataset(annotated, out, params, cache_dir=cache)  # outputs still there, plus a stale file
    assert _tree(out) == before
    shutil.rmtree(out)
    again = augment_dataset(annotated, out, params, cache_dir=cache)
    assert _tree(out) == before
    augment_dataset(annotated, out, params, cache_dir=cache)  # every output already in place: left as it is
    assert _tree(out) == before
    assert (kept.inputs, kept.variants, kept.cached) == (again.inputs, again.variants, again.cached) == (4, 4, 4)
    assert first.augmented_parents == again.augmented_parents == 2
    monkeypatch.undo()
    # Anything the run depends on changes (here: where the output lies, which the rows' paths carry): a full run.
    moved = augment_dataset(annotated, tmp_path / "elsewhere" / "deeper" / "augmented", params, cache_dir=cache)
    assert moved.cached == moved.variants == 4
    assert read_manifest(tmp_path / "elsewhere" / "deeper" / "augmented")["person_path"].dropna().str.startswith(
        "../../../data/annotated/").any()
