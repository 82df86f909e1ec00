import pytest

from components.data.importers import import_sources
from components.data.params import ImportParams, ImportSource
from components.manifest.schema import read_manifest
from tests.data.images import garment, jpeg_bytes, person, write


def _import(kind, path, tmp_path):
    params = ImportParams(sources=[ImportSource(kind=kind, path=str(path))])
    import_sources(params, tmp_path / "out", tmp_path)
    return read_manifest(tmp_path / "out")


def test_viton_hd_layout_imports_train_and_test_with_own_garments(tmp_path, real_photos):
    root = tmp_path / "viton"
    for split, names in (("train", ["00001_00.jpg", "00002_00.jpg"]), ("test", ["00003_00.jpg"])):
        for i, name in enumerate(names):
            turn = i * 5 + (11 if split == "test" else 0)
            write(root / split / "image" / name, jpeg_bytes(person(real_photos).rotate(turn)))
            write(root / split / "cloth" / name, jpeg_bytes(garment((turn * 9, 80, 120))))
            write(root / split / "cloth-mask" / name, jpeg_bytes(garment((255, 255, 255))))
        (root / f"{split}_pairs.txt").write_text("".join(f"{n} {n}\n" for n in names))
    # An unpaired test line: the person still gets their own garment; a missing image is quarantined.
    (root / "test_pairs.txt").write_text("00003_00.jpg 00001_00.jpg\n09999_00.jpg 00003_00.jpg\n")
    df = _import("viton_hd", root, tmp_path)
    ok = df[df.status == "ok"]
    assert sorted(ok.split) == ["test", "train", "train"]
    assert set(ok.category) == {"upper_body"}
    bad = df[df.status == "quarantined"]
    assert len(bad) == 1 and "file not found" in bad.quarantine_reason.iloc[0]
    assert "test_pairs.txt line 2" in bad.quarantine_reason.iloc[0]


def test_dresscode_layout_imports_all_three_categories(tmp_path, real_photos):
    root = tmp_path / "dc"
    for c, cat in enumerate(("upper_body", "lower_body", "dresses")):
        for k in range(2):
            pid = f"0{c}{k}001"
            write(root / cat / "images" / f"{pid}_0.jpg", jpeg_bytes(person(real_photos).rotate(c * 7 + k)))
            write(root / cat / "images" / f"{pid}_1.jpg", jpeg_bytes(garment((40 * c, 90, 30 * k))))
        (root / cat / "train_pairs.txt").write_text(f"0{c}0001_0.jpg 0{c}0001_1.jpg\n")
        (root / cat / "test_pairs_paired.txt").write_text(f"0{c}1001_0.jpg 0{c}1001_1.jpg\n")
    # A root-level list with the category index column, repeating one pair (deduplicated) and one broken line.
    (root / "train_pairs.txt").write_text("000001_0.jpg 000001_1.jpg 0\nbroken_line_only\n")
    df = _import("dresscode", root, tmp_path)
    ok = df[df.status == "ok"]
    assert ok.groupby(["category", "split"]).size().to_dict() == {
        ("dresses", "test"): 1, ("dresses", "train"): 1,
        ("lower_body", "test"): 1, ("lower_body", "train"): 1,
        ("upper_body", "test"): 1, ("upper_body", "train"): 1,
    }
    bad = df[df.status == "quarantined"]
    assert len(bad) == 1 and "expected '<person> <garment>" in bad.quarantine_reason.iloc[0]


def test_hf_dataset_imports_from_local_parquet_offline(tmp_path, real_photos):
    import datasets

    from tests.data.images import png_bytes

    rows = {
        "image": [{"bytes": png_bytes(person(real_photos)), "path": None},
                  {"bytes": png_bytes(person(real_photos).rotate(8)), "path": None},
                  {"bytes": b"\x89PNG broken", "path": None}],
        "cloth": [{"bytes": png_bytes(garment()), "path": None}] * 3,
        "mask": [{"bytes": png_bytes(garment((255, 255, 255))), "path": None}] * 3,
        "caption": ["a woman wearing a red floral dress", "a man in a grey hoodie", "jeans"],
    }
    features = datasets.Features(
        {"image": datasets.Image(), "cloth": datasets.Image(), "mask": datasets.Image(), "caption": datasets.Value("string")}
    )
    datasets.Dataset.from_dict(rows, features=features).to_parquet(str(tmp_path / "deepfashion.parquet"))
    df = _import("hf", tmp_path / "deepfashion.parquet", tmp_path)
    ok = df[df.status == "ok"].sort_values("caption")
    assert ok.caption.tolist() == ["a man in a grey hoodie", "a woman wearing a red floral dress"]
    assert ok.category.tolist() == ["upper_body", "dresses"]
    bad = df[df.status == "quarantined"]
    assert len(bad) == 1 and "person image" in bad.quarantine_reason.iloc[0]


def test_hf_dataset_offline_and_uncached_says_so_plainly(tmp_path, monkeypatch):
    from components.errors import DataContractError

    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setenv("HF_DATASETS_OFFLINE", "1")
    monkeypatch.setenv("HF_HOME", str(tmp_path / "hf"))
    with pytest.raises(DataContractError) as exc:
        _import("hf", "SaffalPoosh/deepFashion-with-masks", tmp_path)
    text = str(exc.value)
    assert "could not be loaded" in text and "offline and not in the local cache" in text
