"""The annotate stage's fit columns on the bundled sample's real photos."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from components.annotate.keypoints import read_body25
from components.annotate.params import AnnotateParams, MaskRules
from components.annotate.run import annotate_dataset
from components.fit.columns import FIT_RATIO_COLUMNS, worn_region
from components.fit.labels import FIT_LABELS
from components.fit.params import FitParams, FitThresholds
from components.fit.ratios import worn_fit_ratios

SMOKE = AnnotateParams(mask=MaskRules(require_knees=["lower_body"], require_ankles=["lower_body"]))


@pytest.fixture(scope="module")
def imported(tmp_path_factory) -> Path:
    """The bundled sample data, imported (four full-body people, their dress composites, and one photo of a cat)."""
    from tests.project_copy import imported_sample

    return imported_sample(tmp_path_factory.mktemp("proj"))


@pytest.fixture(scope="module")
def annotated(imported, tmp_path_factory):
    out = tmp_path_factory.mktemp("annotated")
    cache = tmp_path_factory.mktemp("cache")
    return annotate_dataset(imported, out, SMOKE, cache), out, cache


def test_every_person_gets_worn_fit_ratios_and_a_label_recomputable_from_the_written_files(annotated):
    result, out, _ = annotated
    ok = result.manifest[result.manifest["status"] == "ok"]
    assert len(ok) == len(result.manifest) - 1  # every pair of the bundled sample but the cat photo
    assert ok["fit_width_ratio"].notna().all() and ok["fit_span_ratio"].notna().all()
    assert ok["fit_label"].isin(FIT_LABELS).all()
    # A top is wider than the shoulder joints, trousers wider than the hip joints (both inside the body).
    assert (ok["fit_width_ratio"] > 1.0).all()
    for _, row in ok.iterrows():
        parse = np.asarray(Image.open(out / row["parse_path"]))
        person = np.asarray(Image.open(out / row["person_mask_path"])) > 127
        kp = read_body25(out / row["keypoints_path"])
        again = worn_fit_ratios(row["category"], worn_region(row["category"], parse), kp, person)
        for col, value in zip(FIT_RATIO_COLUMNS, again.as_tuple()):
            assert (math.isnan(value) and math.isnan(row[col])) or row[col] == pytest.approx(value, rel=0.02), col
    quarantined = result.manifest[result.manifest["status"] != "ok"]
    assert quarantined["fit_label"].isna().all()


def test_new_thresholds_relabel_the_manifest_without_rerendering(annotated, imported):
    result, out, cache = annotated
    everything_loose = FitParams(thresholds={
        c: FitThresholds(tight_below=0.1, loose_above=0.2, typical_length=1.0, typical_span=1.0)
        for c in ("upper_body", "lower_body", "dresses")})
    again = annotate_dataset(imported, out, SMOKE, cache, fit=everything_loose)
    assert again.report.done == 0 and again.report.model_calls == 0
    ok = again.manifest[again.manifest["status"] == "ok"]
    assert (ok["fit_label"] == "loose").all()
    assert ok["fit_width_ratio"].tolist() == result.manifest.loc[ok.index, "fit_width_ratio"].tolist()


def test_a_rerun_restores_each_overlay_sheet_from_the_cache_with_the_same_bytes(annotated, tmp_path):
    from components.annotate.cache import AnnotateCache
    from components.annotate.overlay import sheet_rows
    from components.annotate.sheets import sheet_key, write_overlays

    result, out, cache = annotated
    drawn = write_overlays(result, tmp_path / "first", 2, cache)
    assert drawn, "the sample has ok samples, so at least one sheet"
    sheets = {c: p.read_bytes() for c, p in drawn.items()}
    for category, path in drawn.items():
        entry = AnnotateCache(cache).sheet(sheet_key(out, sheet_rows(result.manifest, category, 2), category))
        assert entry is not None and entry.read_bytes() == path.read_bytes()
        entry.write_bytes(b"not the sheet drawn")  # what a rerun places is the entry, not a fresh drawing
    restored = write_overlays(result, tmp_path / "again", 2, cache)
    assert {c: p.read_bytes() for c, p in restored.items()} == {c: b"not the sheet drawn" for c in drawn}
    uncached = write_overlays(result, tmp_path / "plain", 2)  # no cache: drawn as before
    assert {c: p.read_bytes() for c, p in uncached.items()} == sheets


def test_an_overlay_sheet_key_changes_with_the_bytes_of_a_file_it_shows(annotated, tmp_path):
    import shutil

    from components.annotate.overlay import SHEET_COLUMNS, sheet_rows
    from components.annotate.sheets import sheet_key

    result, out, _ = annotated
    copy = tmp_path / "copy"
    shutil.copytree(out, copy)
    category = result.manifest.loc[result.manifest["status"] == "ok", "category"].iloc[0]
    rows = sheet_rows(result.manifest, category, 2)
    before = sheet_key(copy, rows, category)
    assert sheet_key(out, rows, category) == before  # the paths' bytes, not their folder
    for column in SHEET_COLUMNS:
        target = copy / rows.iloc[0][column]
        original = target.read_bytes()
        target.write_bytes(original + b"\0")
        assert sheet_key(copy, rows, category) != before, column
        target.write_bytes(original)
