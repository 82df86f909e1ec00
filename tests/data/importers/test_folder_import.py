from pathlib import Path

import pytest

from components.data.importers import import_sources
from components.data.params import ImportParams, ImportSource
from components.errors import DataContractError
from components.manifest.schema import read_manifest
from tests.data.images import bomb_png, garment, person, png_bytes, truncated_jpeg, write


def _params(path: Path, **over) -> ImportParams:
    return ImportParams(sources=[ImportSource(kind="folder", path=str(path), licence="CC0")], **over)


@pytest.fixture
def shop(tmp_path, real_photos) -> Path:
    root = tmp_path / "shop"
    write(root / "p/good.png", png_bytes(person(real_photos)))
    write(root / "p/hopper.png", png_bytes(real_photos["grace_hopper"].resize((192, 256))))
    write(root / "g/red.png", png_bytes(garment()))
    write(root / "g/blue.png", png_bytes(garment((20, 20, 200))))
    write(root / "p/empty.png", b"")
    write(root / "p/cut.jpg", truncated_jpeg(real_photos["camera"]))
    write(root / "p/bomb.png", bomb_png())
    write(root / "p/page.jpg", b"<html>404</html>")
    (root / "pairs.csv").write_text(
        "person,garment,category,split\n"
        "p/good.png,g/red.png,upper_body,train\n"
        "p/hopper.png,g/blue.png,dresses,test\n"
        "p/good.png,g/red.png,upper_body,train\n"  # exact duplicate row
        "p/empty.png,g/red.png,upper_body,\n"
        "p/cut.jpg,g/red.png,upper_body,\n"
        "p/bomb.png,g/red.png,lower_body,\n"
        "p/page.jpg,g/red.png,lower_body,\n"
        "p/missing.png,g/red.png,lower_body,\n"
        "p/good.png,g/blue.png,hats,\n"
        "../../etc/passwd,g/red.png,upper_body,\n"
    )
    return root


def test_folder_import_keeps_good_pairs_and_quarantines_every_broken_one_with_a_reason(shop, tmp_path):
    out = tmp_path / "out"
    report = import_sources(_params(shop), out, tmp_path)
    df = read_manifest(out)
    assert len(df) == 10, "every pairs.csv row must appear in the manifest"
    ok = df[df.status == "ok"]
    assert sorted(ok.category) == ["dresses", "upper_body"]
    assert report.ok == 2 and report.quarantined == 8
    reasons = " | ".join(df[df.status == "quarantined"].quarantine_reason)
    for expected in (
        "exact duplicate of sample",
        "empty file (0 bytes)",
        "truncated or corrupt",
        "decompression bomb",
        "not an image",
        "file not found",
        "unknown garment category 'hats'",
        "path leaves the source folder",
    ):
        assert expected in reasons, expected
    # Reasons name the pairs.csv line, so a user can find the file to fix.
    assert df.quarantine_reason.dropna().str.contains("pairs.csv line").all()
    for rel in ok.person_path.tolist() + ok.garment_path.tolist():
        assert (out / rel).is_file()
    # Rejected originals are kept, so nothing is lost.
    kept = df[df.status == "quarantined"].person_path.dropna()
    assert any((out / rel).is_file() and (out / rel).stat().st_size == 0 for rel in kept)


def test_folder_import_records_sizes_hashes_provenance_and_given_splits(shop, tmp_path):
    out = tmp_path / "out"
    import_sources(_params(shop), out, tmp_path)
    ok = read_manifest(out).query("status == 'ok'").set_index("category")
    assert ok.loc["dresses", "split"] == "test"
    assert (ok.loc["upper_body", "person_width"], ok.loc["upper_body", "person_height"]) == (192, 256)
    assert len(ok.loc["upper_body", "person_sha256"]) == 64
    assert len(ok.loc["upper_body", "person_phash"]) == 16
    assert ok.loc["upper_body", "licence"] == "CC0"
    assert ok.loc["upper_body", "source"] == "shop"


def test_reimport_of_unchanged_folder_gives_identical_manifest(shop, tmp_path):
    import_sources(_params(shop), tmp_path / "a", tmp_path)
    import_sources(_params(shop), tmp_path / "b", tmp_path)
    a, b = read_manifest(tmp_path / "a"), read_manifest(tmp_path / "b")
    assert a.drop(columns=["source_url"]).equals(b.drop(columns=["source_url"]))


def test_split_is_assigned_by_person_hash_when_the_source_gives_none(tmp_path, real_photos):
    root = tmp_path / "s"
    rows = ["person,garment,category"]
    for i in range(12):
        img = real_photos["astronaut"].rotate(i * 3).resize((128, 128))
        write(root / f"p{i}.png", png_bytes(img))
        rows.append(f"p{i}.png,g.png,upper_body")
    write(root / "g.png", png_bytes(garment()))
    (root / "pairs.csv").write_text("\n".join(rows) + "\n")
    import_sources(_params(root, test_fraction=0.5), tmp_path / "out", tmp_path)
    splits = read_manifest(tmp_path / "out").split.value_counts()
    assert set(splits.index) == {"train", "test"}


def test_missing_pairs_file_is_a_clear_error_naming_the_fix(tmp_path):
    (tmp_path / "empty").mkdir()
    with pytest.raises(DataContractError, match="pairs.csv"):
        import_sources(_params(tmp_path / "empty"), tmp_path / "out", tmp_path)


def test_missing_source_folder_is_a_clear_error(tmp_path):
    with pytest.raises(DataContractError, match="source folder not found"):
        import_sources(_params(tmp_path / "nope"), tmp_path / "out", tmp_path)


def test_reimport_reuses_cached_normalised_images_and_decodes_only_new_files(tmp_path, real_photos):
    root = tmp_path / "src"
    write(root / "a.png", png_bytes(person(real_photos)))
    write(root / "g.png", png_bytes(garment()))
    (root / "pairs.csv").write_text("person,garment,category\na.png,g.png,upper_body\n")
    first = import_sources(_params(root), tmp_path / "one", tmp_path)
    assert (first.ok, first.cached) == (1, 0)

    write(root / "b.png", png_bytes(real_photos["grace_hopper"].resize((192, 256))))
    with (root / "pairs.csv").open("a") as fh:
        fh.write("b.png,g.png,dresses\n")
    second = import_sources(_params(root), tmp_path / "two", tmp_path)
    # a.png and g.png (twice) come from the cache; only b.png is decoded.
    assert (second.ok, second.cached) == (2, 3)

    uncached = import_sources(_params(root, cache_dir=None), tmp_path / "three", tmp_path)
    assert uncached.cached == 0
    for rel in read_manifest(tmp_path / "two").person_path:
        assert (tmp_path / "two" / rel).read_bytes() == (tmp_path / "three" / rel).read_bytes()


def test_a_pairing_column_says_which_rows_the_person_wears_and_a_bad_value_is_quarantined(tmp_path, real_photos):
    root = tmp_path / "s"
    write(root / "p.png", png_bytes(person(real_photos)))
    write(root / "red.png", png_bytes(garment()))
    write(root / "blue.png", png_bytes(garment((20, 20, 200))))
    write(root / "green.png", png_bytes(garment((20, 200, 20))))
    (root / "pairs.csv").write_text(
        "person,garment,category,split,pairing\n"
        "p.png,red.png,upper_body,train,paired\n"
        "p.png,blue.png,upper_body,train,unpaired\n"
        "p.png,green.png,upper_body,train,sometimes\n"
    )
    import_sources(_params(root), tmp_path / "out", tmp_path)
    df = read_manifest(tmp_path / "out")
    ok = df[df["status"] == "ok"]
    assert sorted(ok["pairing"]) == ["paired", "unpaired"]
    bad = df[df["status"] == "quarantined"]
    assert len(bad) == 1 and "pairing 'sometimes' is not paired or unpaired" in bad["quarantine_reason"].iloc[0]


def test_a_cloth_mask_column_is_imported_beside_the_garment_and_a_bad_mask_is_quarantined(tmp_path, real_photos):
    from PIL import Image

    root = tmp_path / "shop"
    write(root / "p/a.png", png_bytes(person(real_photos)))
    write(root / "g/red.png", png_bytes(garment()))  # 192x256
    half = Image.new("L", (192, 256), 0)
    half.paste(200, (0, 0, 96, 256))  # grey 200: a mask saved with other values than 0/255 still reads as garment
    write(root / "m/red.png", png_bytes(half))
    write(root / "m/small.png", png_bytes(Image.new("L", (100, 120), 255)))
    write(root / "m/empty.png", png_bytes(Image.new("L", (192, 256), 0)))
    (root / "pairs.csv").write_text(
        "person,garment,category,split,cloth_mask,gender\n"
        "p/a.png,g/red.png,upper_body,train,m/red.png,WOMEN\n"
        "p/a.png,g/red.png,lower_body,train,m/small.png,\n"
        "p/a.png,g/red.png,dresses,train,m/empty.png,\n"
        "p/a.png,g/red.png,upper_body,test,m/missing.png,\n"
    )
    out = tmp_path / "out"
    import_sources(_params(root, cache_dir=None), out, tmp_path)
    df = read_manifest(out).set_index("category", drop=False)
    good = df[df.status == "ok"].iloc[0]
    assert good.category == "upper_body" and good.gender == "WOMEN"
    assert good.cloth_mask_path == f"cloth-mask/{good.sample_id}.png"
    mask = Image.open(out / good.cloth_mask_path)
    assert mask.mode == "L" and mask.size == (192, 256)
    assert set(mask.getdata()) == {0, 255} and mask.getpixel((10, 10)) == 255 and mask.getpixel((150, 10)) == 0
    bad = df[df.status == "quarantined"].set_index("category")
    assert "cloth mask: 100x120, the garment image 192x256" in bad.loc["lower_body", "quarantine_reason"]
    assert "cloth mask: marks no garment" in bad.loc["dresses", "quarantine_reason"]
    assert "cloth mask: file not found" in bad.loc["upper_body", "quarantine_reason"]
    assert (out / bad.loc["lower_body", "cloth_mask_path"]).is_file()  # the rejected mask's bytes are kept
