"""`hf` sources: the published deepFashion-with-masks layout, explicit column mappings, streaming."""

import inspect

import datasets
import numpy as np
import pytest
from PIL import Image

from components.data.importers import hf, import_sources
from components.data.importers.hf import read_hf
from components.data.params import HfColumns, ImportParams, ImportSource
from components.errors import DataContractError
from components.manifest.schema import read_manifest
from tests.data.images import garment, png_bytes
from tests.data.importers.deepfashion_standin import Row, write_standin

ROWS = [
    # pid 1: three views of a tee (front, side, back) -> cross-view pairs
    Row("astronaut", "id_00000001", "01_1_front", "Tees_Tanks", "The lady wears a short-sleeve T-shirt."),
    Row("astronaut", "id_00000001", "01_2_side", "Tees_Tanks", "The lady wears a short-sleeve T-shirt.", mirror=True),
    Row("grace_hopper", "id_00000001", "01_3_back", "Tees_Tanks", "The lady wears a short-sleeve T-shirt."),
    # pid 2: Denim jeans (caption) and pid 3: a denim jacket (caption), one view each -> same-view pairs
    Row("camera", "id_00000002", "01_1_front", "Denim", "He wears a shirt and long denim pants.", "MEN"),
    Row("grace_hopper", "id_00000003", "front", "Denim", "The lady wears a denim jacket with long sleeves.",
        mirror=True),
    # pid 4: a dress, two views; pid 5: an unknown class; pid 6: an empty mask beside a good view
    Row("astronaut", "id_00000004", "01_1_front", "Dresses", "A long dress.", mask="dress"),
    Row("grace_hopper", "id_00000004", "01_4_full", "Dresses", "A long dress.", mask="dress"),
    Row("camera", "id_00000005", "01_1_front", "Hats_Caps", "He wears a cap.", "MEN"),
    Row("astronaut", "id_00000006", "01_1_front", "Pants", "Long trousers.", mask="empty"),
    Row("grace_hopper", "id_00000006", "01_2_side", "Pants", "Long trousers.", mirror=True),
]


def _import(tmp_path, path, **source):
    params = ImportParams(sources=[ImportSource(kind="hf", path=str(path), **source)], cache_dir=None)
    report = import_sources(params, tmp_path / "out", tmp_path)
    return read_manifest(tmp_path / "out"), report


@pytest.fixture
def seed(tmp_path, real_photos):
    shard = write_standin(tmp_path / "data" / "train-00000-of-00001-abc.parquet", real_photos, ROWS)
    return _import(tmp_path, tmp_path / "data")


def test_published_layout_takes_the_category_from_cloth_type_and_the_caption_for_denim(seed):
    df, _ = seed
    ok = df[df.status == "ok"].set_index("source_url")
    category = {url.rsplit("#", 1)[1]: cat for url, cat in ok.category.items()}
    assert category == {"0": "upper_body", "1": "upper_body", "2": "upper_body", "3": "lower_body",
                        "4": "upper_body", "5": "dresses", "6": "dresses", "9": "lower_body"}
    assert set(ok.source_class) == {"Tees_Tanks", "Denim", "Dresses", "Pants"}


def test_the_published_gender_is_kept_per_row_and_a_dataset_without_one_gets_null(seed, tmp_path, real_photos):
    df, _ = seed
    gender = {url.rsplit("#", 1)[1]: g for url, g in zip(df.source_url, df.gender)}
    assert gender == {str(i): r.gender for i, r in enumerate(ROWS)}  # quarantined rows keep it too
    assert gender["3"] == "MEN" and gender["0"] == "WOMEN"
    person = real_photos["astronaut"].resize((192, 256))
    rows = {"image": [{"bytes": png_bytes(person), "path": None}],
            "cloth": [{"bytes": png_bytes(garment()), "path": None}], "caption": ["a red T-shirt"]}
    features = datasets.Features({"image": datasets.Image(), "cloth": datasets.Image(),
                                  "caption": datasets.Value("string")})
    datasets.Dataset.from_dict(rows, features=features).to_parquet(str(tmp_path / "no_gender.parquet"))
    other, report = _import(tmp_path / "b", tmp_path / "no_gender.parquet")
    assert report.ok == 1 and other.gender.isna().all()


def test_an_unknown_class_is_quarantined_naming_the_class(seed):
    df, _ = seed
    row = df[df.source_url.str.endswith("#7")].iloc[0]
    assert row.status == "quarantined"
    assert "unknown garment class 'Hats_Caps'" in row.quarantine_reason and "row 7" in row.quarantine_reason


def test_an_empty_mask_is_quarantined_naming_the_mask_and_its_item_still_pairs(seed):
    df, _ = seed
    bad = df[df.source_url.str.endswith("#8")].iloc[0]
    assert bad.status == "quarantined"
    assert "mask column 'mask' is empty" in bad.quarantine_reason
    good = df[df.source_url.str.endswith("#9")].iloc[0]
    # Its only other view has no usable garment, so the side view pairs with itself.
    assert good.status == "ok" and good.pairing == "same_view" and good.garment_source_url == good.source_url


def test_views_of_one_pid_are_paired_across_and_the_pairing_is_recorded(seed, tmp_path):
    df, _ = seed
    item = df[(df.item_id == "id_00000001")].set_index("person_view")
    assert set(item.status) == {"ok"}
    assert set(item.pairing) == {"cross_view"}
    # The front view is the garment source of the others; the front view itself wears the side view's cut.
    assert item.loc["01_2_side", "garment_view"] == "01_1_front"
    assert item.loc["01_3_back", "garment_view"] == "01_1_front"
    assert item.loc["01_1_front", "garment_view"] == "01_2_side"
    assert item.loc["01_3_back", "garment_source_url"].endswith("#0")
    # The garment is a tight cut on white: smaller than the photo, white where the mask had no garment.
    cut = Image.open(tmp_path / "out" / item.loc["01_3_back", "garment_path"])
    assert cut.height < 256 and np.asarray(cut)[0].min(axis=1).max() == 255


def test_the_garment_cut_writes_the_datasets_mask_as_its_cloth_mask(seed, tmp_path, real_photos):
    from components.data.importers.garment_cut import DEEPFASHION_LABELS, LabelMap, garment_region
    from tests.data.importers.deepfashion_standin import derived_labels, photo_for

    df, _ = seed
    ok = df[df.status == "ok"]
    assert ok.cloth_mask_path.notna().all()
    for _, row in ok.iterrows():
        garment = np.asarray(Image.open(tmp_path / "out" / row.garment_path).convert("RGB"))
        mask = Image.open(tmp_path / "out" / row.cloth_mask_path)
        assert mask.mode == "L" and mask.size == (garment.shape[1], garment.shape[0])
        # The mask is the dataset's: the garment region of the row it was cut from, cropped as the garment was.
        source = ROWS[int(row.garment_source_url.rsplit("#", 1)[1])]
        region = garment_region(LabelMap(derived_labels(photo_for(real_photos, source), source.mask), False),
                                DEEPFASHION_LABELS[row.category])
        ys, xs = np.nonzero(region)
        crop = region[max(ys.min() - 4, 0):ys.max() + 5, max(xs.min() - 4, 0):xs.max() + 5]
        assert np.array_equal(np.asarray(mask) > 0, crop), row.sample_id
        assert set(np.unique(np.asarray(mask))) == {0, 255}
        assert (garment[np.asarray(mask) == 0] == 255).all()  # white wherever the mask has no garment


def test_a_reimport_takes_the_cut_and_its_cloth_mask_from_the_cache(tmp_path, real_photos):
    write_standin(tmp_path / "data" / "d.parquet", real_photos, ROWS[:3])
    params = ImportParams(sources=[ImportSource(kind="hf", path=str(tmp_path / "data"))],
                          cache_dir=str(tmp_path / "cache"))
    import_sources(params, tmp_path / "a", tmp_path)
    again = import_sources(params, tmp_path / "b", tmp_path)
    assert again.cached == 3 * 3  # per row: the person, its garment cut and that cut's cloth mask
    first, second = read_manifest(tmp_path / "a"), read_manifest(tmp_path / "b")
    for rel in first.cloth_mask_path:
        assert (tmp_path / "a" / rel).read_bytes() == (tmp_path / "b" / rel).read_bytes()
    assert first.equals(second)


def test_a_single_view_pid_pairs_with_itself(seed):
    df, _ = seed
    for pid in ("id_00000002", "id_00000003"):
        row = df[df.item_id == pid].iloc[0]
        assert row.status == "ok" and row.pairing == "same_view"
        assert row.garment_view == row.person_view and row.garment_source_url == row.source_url


def test_splits_are_grouped_by_pid(tmp_path, real_photos):
    rows = [Row("astronaut" if v % 2 else "grace_hopper", f"id_{p:08d}", f"01_{v + 1}_{view}", "Sweaters",
                turn=p * 2 + 1) for p in range(12) for v, view in enumerate(("front", "side", "back"))]
    write_standin(tmp_path / "shards" / "train-00000-of-00001.parquet", real_photos, rows)
    params = ImportParams(sources=[ImportSource(kind="hf", path=str(tmp_path / "shards"))], cache_dir=None,
                          test_fraction=0.4)
    import_sources(params, tmp_path / "out", tmp_path)
    ok = read_manifest(tmp_path / "out").query("status == 'ok'")
    assert len(ok) == 36
    assert ok.groupby("item_id").split.nunique().max() == 1
    assert set(ok.split) == {"train", "test"}


def test_explicit_column_mapping_reads_another_dataset(tmp_path, real_photos):
    person = real_photos["astronaut"].resize((192, 256))
    rows = {
        "model_shot": [{"bytes": png_bytes(img), "path": None} for img in (person, person.rotate(6))],
        "product": [{"bytes": png_bytes(img), "path": None} for img in (garment(), garment((0, 90, 20)))],
        "label": ["lower_body", "Skirts"],
        "sku": ["A-1", "B-2"],
        "text": ["something", "a pleated skirt"],
    }
    features = datasets.Features({"model_shot": datasets.Image(), "product": datasets.Image(),
                                  **{k: datasets.Value("string") for k in ("label", "sku", "text")}})
    datasets.Dataset.from_dict(rows, features=features).to_parquet(str(tmp_path / "other.parquet"))
    columns = HfColumns(person="model_shot", garment="product", category="label", group="sku", caption="text")
    df, report = _import(tmp_path, tmp_path / "other.parquet", hf_columns=columns)
    assert report.ok == 2
    assert sorted(df.category) == ["lower_body", "lower_body"]
    assert sorted(df.item_id) == ["A-1", "B-2"] and sorted(df.source_class) == ["Skirts", "lower_body"]


def test_a_mapping_naming_a_missing_column_is_a_clear_error(tmp_path, real_photos):
    write_standin(tmp_path / "d.parquet", real_photos, ROWS[:1])
    with pytest.raises(DataContractError) as exc:
        _import(tmp_path, tmp_path / "d.parquet", hf_columns=HfColumns(person="photo", mask="mask"))
    assert "['photo']" in str(exc.value) and "hf_columns" in str(exc.value)


def test_a_dataset_of_no_known_layout_names_what_it_lacks(tmp_path):
    datasets.Dataset.from_dict({"x": [1]}).to_parquet(str(tmp_path / "x.parquet"))
    with pytest.raises(DataContractError) as exc:
        _import(tmp_path, tmp_path / "x.parquet")
    assert "missing columns ['image', 'cloth']" in str(exc.value) and "hf_columns" in str(exc.value)


def test_rows_stream_in_batches_from_a_generator(tmp_path, real_photos):
    path = write_standin(tmp_path / "d.parquet", real_photos, ROWS, row_group_size=2)
    candidates = read_hf(str(path), "seed", "apache-2.0", "train", None, batch_size=2)
    assert inspect.isgenerator(candidates)
    from components.data.importers.hf_rows import open_rows

    batches = open_rows(str(path), "train").batches(["pid", "images"], batch_size=2)
    assert inspect.isgenerator(batches)
    assert [len(b) for b in batches] == [2, 2, 2, 2, 2]
    # The first item's candidates come out before the rest of the file is read.
    first = next(candidates)
    assert first.item_id == "id_00000001"


def test_rows_of_unfinished_groups_spill_to_disk_and_pair_the_same(tmp_path, real_photos, monkeypatch):
    # Views of one pid far apart in the file: the rows between are held, past the bound on disk.
    rows = [ROWS[0], ROWS[3], ROWS[4], ROWS[1], ROWS[2]]
    path = write_standin(tmp_path / "d.parquet", real_photos, rows)
    in_memory = [(c.source_url, c.garment_view, c.pairing) for c in read_hf(str(path), "s", "x", "train", None)]
    monkeypatch.setattr(hf, "MAX_HELD_IN_MEMORY", 0)
    spilled = [(c.source_url, c.garment_view, c.pairing) for c in read_hf(str(path), "s", "x", "train", None)]
    assert spilled == in_memory
    assert sorted(p for _, _, p in spilled) == ["cross_view"] * 3 + ["same_view"] * 2


def test_a_save_to_disk_copy_of_the_published_layout_imports_alike(tmp_path, real_photos):
    shard = write_standin(tmp_path / "d.parquet", real_photos, ROWS[:3])
    datasets.load_dataset("parquet", data_files=[str(shard)], split="train").save_to_disk(str(tmp_path / "saved"))
    df, report = _import(tmp_path, tmp_path / "saved")
    assert report.ok == 3 and set(df.pairing) == {"cross_view"}


def test_vton_data_import_reads_the_published_layout_as_a_user_runs_it(tmp_path, real_photos):
    import subprocess
    import sys

    write_standin(tmp_path / "seed" / "data" / "train-00000-of-00001.parquet", real_photos, ROWS)
    (tmp_path / "params.yaml").write_text("profile: smoke\n")
    out = subprocess.run([sys.executable, "-m", "components.cli", "data", "import", "--source", "hf:seed",
                          "--out", "imported"], capture_output=True, text=True, cwd=tmp_path)
    assert out.returncode == 0, out.stderr
    assert "imported 10 samples: 8 ok, 2 quarantined" in out.stdout
    assert "unknown garment class 'Hats_Caps'" in out.stdout
    assert len(read_manifest(tmp_path / "imported")) == 10
