"""The annotate engine on real photos: layout, quarantine, cache hits, re-annotation on a new model
version, and resuming after the process is killed."""

import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from components.annotate.annotators.mediapipe_pose import MediaPipePose
from components.annotate.params import AnnotateParams, MaskRules
from components.annotate.run import annotate_dataset, annotate_folder
from components.manifest.schema import read_manifest

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def imported(tmp_path_factory) -> Path:
    """The bundled sample data, imported (pairs of four full-body people, their dress composites, and one photo
    of a cat)."""
    from tests.project_copy import imported_sample

    return imported_sample(tmp_path_factory.mktemp("proj"))


def _variants(real_photos, folder: Path, n: int) -> None:
    """n distinct person photos (a few pixels changed so each has its own content hash)."""
    folder.mkdir(parents=True, exist_ok=True)
    base = np.asarray(real_photos["grace_hopper"].resize((256, 300))).copy()
    for i in range(n):
        img = base.copy()
        img[0, i] = (i * 7 % 255, 0, 0)
        Image.fromarray(img).save(folder / f"p{i:02d}.png")


def test_sample_data_gives_a_complete_viton_hd_layout_and_keeps_every_row(imported, tmp_path):
    out = tmp_path / "annotated"
    # The smoke profile's rules: trousers need knees and ankles (the sample shows whole legs).
    settings = AnnotateParams(mask=MaskRules(require_knees=["lower_body"], require_ankles=["lower_body"]))
    result = annotate_dataset(imported, out, settings, tmp_path / "cache")
    from components.data.sample_data import PAIRS

    df = result.manifest
    assert len(df) == len(read_manifest(imported)) == len(PAIRS)
    cat = df[df["source_url"].fillna("").str.contains("chelsea")]
    assert (cat["status"] == "quarantined").all() and cat["quarantine_reason"].str.startswith("no person").all()
    assert (out / cat["person_path"].iloc[0]).is_file()  # the quarantined row still points at its photo
    ok = df[df["status"] == "ok"]
    assert len(ok) == len(PAIRS) - 1, df.loc[df["status"] != "ok", "quarantine_reason"].tolist()  # only the cat
    assert ok.groupby(["category", "split"]).size().min() >= 2  # every category has people in train and test
    worn = ok[ok["pairing"] == "paired"]
    assert worn.groupby(["category", "split"]).size().min() >= 2  # dresses too: the composites wear them
    # The sample ships each garment's cloth mask: annotate uses it as it is (garments fill the frame exactly).
    imported_rows = read_manifest(imported).set_index("sample_id")
    for sid, rel in zip(ok["sample_id"], ok["cloth_mask_path"]):
        given = np.asarray(Image.open(imported / imported_rows.loc[sid, "cloth_mask_path"])) >= 128
        assert np.array_equal(np.asarray(Image.open(out / rel)) > 0, given), sid
    assert (ok["pose_attempt"] == "original").all()
    for col in ("person_path", "garment_path", "cloth_mask_path", "parse_path", "keypoints_path",
                "keypoints_coco18_path", "pose_render_path", "agnostic_mask_path", "agnostic_path"):
        for rel in ok[col]:
            assert (out / rel).is_file(), rel
    assert (ok["parsing_source"] == "pose_geometry").all()
    assert ok["mask_sources"].str.startswith("pose_rules:keypoints_body25(mediapipe_pose)").all()
    assert (ok["n_people"] == 1).all() and (ok["shoulder_width"] > 50).all()
    assert ok.loc[ok["category"] == "lower_body", "body_height"].notna().all()  # ankles seen: a height is measured
    with Image.open(out / ok["person_path"].iloc[0]) as img:
        assert img.size == (384, 512)
    assert (out / "train_pairs.txt").read_text().count("\n") == int((ok["split"] == "train").sum())


def test_second_run_does_no_model_calls_and_a_new_model_version_reannotates(real_photos, tmp_path, monkeypatch):
    _variants(real_photos, tmp_path / "photos", 3)
    settings = AnnotateParams()
    first = annotate_folder(tmp_path / "photos", tmp_path / "out", settings, tmp_path / "cache", ["upper_body"])
    assert first.report.done == 3 and first.report.model_calls == 9  # pose, person mask, parse per photo
    second = annotate_folder(tmp_path / "photos", tmp_path / "out", settings, tmp_path / "cache", ["upper_body"])
    assert second.report.model_calls == 0 and second.report.cached == 3
    assert second.manifest.equals(first.manifest)
    monkeypatch.setattr(MediaPipePose, "version", MediaPipePose.version + "-retrained")
    third = annotate_folder(tmp_path / "photos", tmp_path / "out", settings, tmp_path / "cache", ["upper_body"])
    assert third.report.cached == 0 and third.report.model_calls == 9
    assert "-retrained" in third.manifest["annotator_versions"].iloc[0]


def test_a_rerun_after_the_outputs_were_deleted_restores_every_file_from_the_cache_without_rendering(
        real_photos, tmp_path, monkeypatch):
    import components.annotate.engine as engine

    _variants(real_photos, tmp_path / "photos", 3)
    settings = AnnotateParams()
    first = annotate_folder(tmp_path / "photos", tmp_path / "out", settings, tmp_path / "cache", ["upper_body"])
    before = {p.relative_to(tmp_path / "out"): p.read_bytes() for p in (tmp_path / "out").rglob("*") if p.is_file()}
    shutil.rmtree(tmp_path / "out")  # what `dvc repro` does before it runs a changed stage

    def no_render(*args, **kwargs):
        raise AssertionError("a cached sample was rendered again")

    monkeypatch.setattr(engine, "render_sample", no_render)
    again = annotate_folder(tmp_path / "photos", tmp_path / "out", settings, tmp_path / "cache", ["upper_body"])
    assert again.report.cached == 3 and again.report.model_calls == 0
    after = {p.relative_to(tmp_path / "out"): p.read_bytes() for p in (tmp_path / "out").rglob("*") if p.is_file()}
    assert after == before
    assert again.manifest.equals(first.manifest)


def test_rendering_a_sample_again_writes_new_files_and_never_edits_the_cached_copies(real_photos, tmp_path):
    from components.annotate.cache import AnnotateCache

    _variants(real_photos, tmp_path / "photos", 2)
    settings = AnnotateParams()
    annotate_folder(tmp_path / "photos", tmp_path / "out", settings, tmp_path / "cache", ["upper_body"])
    blobs = {p: (p.read_bytes(), p.stat().st_mtime_ns)
             for p in AnnotateCache(tmp_path / "cache").files.root.rglob("*") if p.is_file()}
    shutil.rmtree(tmp_path / "cache" / "samples")  # the records are gone: every sample renders again
    changed = settings.model_copy(update={"overlay_samples": 0})
    annotate_folder(tmp_path / "photos", tmp_path / "out", changed, tmp_path / "cache", ["upper_body"])
    # Untouched, mtime included: a write through a hard link would leave the bytes but make the blob untrusted.
    assert all((p.read_bytes(), p.stat().st_mtime_ns) == fact for p, fact in blobs.items())


def test_a_rerun_that_changes_nothing_leaves_the_manifest_alone_and_any_change_rewrites_it(real_photos, tmp_path):
    _variants(real_photos, tmp_path / "photos", 2)
    args = (tmp_path / "photos", tmp_path / "out", AnnotateParams(), tmp_path / "cache", ["upper_body"])
    first = annotate_folder(*args)
    manifest, pairs = tmp_path / "out" / "manifest.parquet", tmp_path / "out" / "train_pairs.txt"
    stamp = manifest.stat().st_mtime_ns
    again = annotate_folder(*args)
    assert again.report.cached == 2 and manifest.stat().st_mtime_ns == stamp
    assert again.manifest.equals(first.manifest)
    listed = pairs.read_text()
    pairs.unlink()
    annotate_folder(*args)
    assert pairs.read_text() == listed
    (tmp_path / "photos" / "p01.png").unlink()
    third = annotate_folder(*args)
    assert manifest.stat().st_mtime_ns != stamp and len(third.manifest) == 1


@pytest.mark.parametrize("broken", ["broken.jpg", "zz_broken.jpg"])  # before and after the good photo
def test_a_broken_file_is_quarantined_and_the_run_goes_on(real_photos, tmp_path, broken):
    _variants(real_photos, tmp_path / "photos", 1)
    (tmp_path / "photos" / broken).write_bytes(b"\xff\xd8\xff\xe0 truncated")
    result = annotate_folder(tmp_path / "photos", tmp_path / "out", AnnotateParams(), tmp_path / "cache", ["dresses"])
    df = result.manifest.set_index("source_url")
    assert df.loc[broken, "status"] == "quarantined"
    assert "person image" in df.loc[broken, "quarantine_reason"]
    assert df.loc["p00.png", "status"] == "ok" and df.loc["p00.png", "person_sha256"]


def test_a_photo_whose_header_is_fine_but_pixels_are_corrupt_is_quarantined_by_the_worker(real_photos, tmp_path):
    from tests.data.images import truncated_jpeg

    _variants(real_photos, tmp_path / "photos", 1)
    (tmp_path / "photos" / "cut.jpg").write_bytes(truncated_jpeg(real_photos["astronaut"]))
    result = annotate_folder(tmp_path / "photos", tmp_path / "out", AnnotateParams(), tmp_path / "cache", ["dresses"])
    df = result.manifest.set_index("source_url")
    assert df.loc["cut.jpg", "status"] == "quarantined"
    assert df.loc["cut.jpg", "quarantine_reason"].startswith("person image: truncated or corrupt image data")
    assert df.loc["p00.png", "status"] == "ok"


@pytest.mark.slow
def test_a_killed_run_resumes_without_redoing_finished_samples(real_photos, tmp_path):
    n = 12
    _variants(real_photos, tmp_path / "photos", n)
    cmd = [sys.executable, "-m", "components.cli", "annotate", "--input", str(tmp_path / "photos"),
           "--out", str(tmp_path / "out"), "--cache-dir", str(tmp_path / "cache")]
    env = {**os.environ, "VTON_PROJECT_ROOT": str(tmp_path)}  # no params.yaml there: defaults
    proc = subprocess.Popen(cmd, cwd=REPO, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    records = tmp_path / "cache" / "samples"
    deadline = time.time() + 120
    while time.time() < deadline and proc.poll() is None:
        if len(list(records.rglob("*.json"))) >= 2:
            proc.send_signal(signal.SIGKILL)
            break
        time.sleep(0.01)
    proc.wait()
    finished = len(list(records.rglob("*.json")))
    assert proc.returncode == -signal.SIGKILL and 2 <= finished < n
    resumed = annotate_folder(tmp_path / "photos", tmp_path / "out", AnnotateParams(), tmp_path / "cache", ["upper_body"])
    assert resumed.report.cached == finished
    assert resumed.report.done == n - finished
    assert (resumed.manifest["status"] == "ok").all()


def test_person_cache_key_follows_the_selected_research_backends_settings_but_not_their_placement():
    from components.annotate.engine import person_key

    ids = {"pose": "mediapipe_pose:1"}
    schp = AnnotateParams(parsing="schp_lip+schp_atr")
    bigger_input = schp.model_copy(update={"schp": schp.schp.model_copy(update={"input_size": 640})})
    other_device = schp.model_copy(update={"schp": schp.schp.model_copy(update={"device": "cpu", "batch_size": 2})})
    assert person_key("a" * 64, schp, ids) != person_key("a" * 64, bigger_input, ids)
    assert person_key("a" * 64, schp, ids) == person_key("a" * 64, other_device, ids)
    onnx = AnnotateParams(densepose="densepose_r50_onnx")
    more_threads = onnx.model_copy(update={"densepose_model": onnx.densepose_model.model_copy(update={"onnx_threads": 4})})
    assert person_key("a" * 64, onnx, ids) == person_key("a" * 64, more_threads, ids)
    # An unselected backend's settings do not invalidate the cache.
    geometry = AnnotateParams()
    tweaked = geometry.model_copy(update={"schp": geometry.schp.model_copy(update={"input_size": 640})})
    assert person_key("a" * 64, geometry, ids) == person_key("a" * 64, tweaked, ids)


def test_photos_annotated_in_groups_give_the_same_files_as_one_by_one(imported, tmp_path, monkeypatch):
    import components.annotate.engine as engine

    one_by_one = annotate_dataset(imported, tmp_path / "single", AnnotateParams(), tmp_path / "cache1")
    # What CUDA does with the research models' batch_size: several person photos per annotator pass.
    monkeypatch.setattr(engine, "engine_batch_size", lambda settings: 4)
    grouped = annotate_dataset(imported, tmp_path / "grouped", AnnotateParams(), tmp_path / "cache4")
    assert grouped.manifest.equals(one_by_one.manifest)
    assert grouped.report.model_calls == one_by_one.report.model_calls
    for rel in one_by_one.manifest.loc[one_by_one.manifest["status"] == "ok", "agnostic_mask_path"]:
        assert (tmp_path / "grouped" / rel).read_bytes() == (tmp_path / "single" / rel).read_bytes(), rel


def test_batch_size_comes_from_the_research_models_only_on_cuda():
    import torch

    from components.annotate.engine import engine_batch_size
    from components.annotate.params import DensePoseParams

    research = AnnotateParams(densepose="densepose_r50", densepose_model=DensePoseParams(batch_size=16))
    assert engine_batch_size(AnnotateParams()) == 1
    assert engine_batch_size(research) == (16 if torch.cuda.is_available() else 1)
    pinned = AnnotateParams(densepose="densepose_r50", densepose_model=DensePoseParams(batch_size=16, device="cpu"))
    assert engine_batch_size(pinned) == 1
