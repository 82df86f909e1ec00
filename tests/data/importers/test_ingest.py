"""Ingest: byte-stable outputs for a given PNG level, whatever the thread count; the level is part of the cache key."""

import hashlib
from pathlib import Path

import numpy as np
from PIL import Image

from components.data.importers import import_sources
from components.data.params import ImportParams, ImportSource
from components.manifest.schema import read_manifest
from tests.data.images import garment, jpeg_bytes, person, write


def _shop(root: Path, real_photos) -> Path:
    lines = ["person,garment,category"]
    for i in range(6):
        write(root / f"p{i}.jpg", jpeg_bytes(person(real_photos).rotate(i * 3)))
        write(root / f"g{i}.jpg", jpeg_bytes(garment((30 * i, 90, 140))))
        lines.append(f"p{i}.jpg,g{i}.jpg,upper_body")
    (root / "pairs.csv").write_text("\n".join(lines) + "\n")
    return root


def _digest(out: Path) -> dict[str, str]:
    return {str(p.relative_to(out)): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(out.rglob("*")) if p.is_file()}


def _run(shop: Path, out: Path, root: Path, **over) -> dict[str, str]:
    params = ImportParams(sources=[ImportSource(kind="folder", path=str(shop))], **over)
    import_sources(params, out, root)
    return _digest(out)


def test_outputs_are_byte_identical_across_runs_and_thread_counts(tmp_path, real_photos):
    shop = _shop(tmp_path / "shop", real_photos)
    serial = _run(shop, tmp_path / "a", tmp_path, workers=1, cache_dir=None)
    threaded = _run(shop, tmp_path / "b", tmp_path, workers=4, cache_dir=None)
    cached = _run(shop, tmp_path / "c", tmp_path, workers=3, cache_dir=str(tmp_path / "cache"))
    again = _run(shop, tmp_path / "d", tmp_path, workers=3, cache_dir=str(tmp_path / "cache"))
    assert serial == threaded == cached == again
    assert len(read_manifest(tmp_path / "b")) == 6


def test_the_png_setting_changes_the_bytes_not_the_pixels_and_keys_the_cache(tmp_path, real_photos):
    shop = _shop(tmp_path / "shop", real_photos)
    cache = str(tmp_path / "cache")
    fast = _run(shop, tmp_path / "fast", tmp_path, cache_dir=cache)  # the defaults: level 1, rle, Up filter
    old = {"png_compress_level": 6, "png_zlib_strategy": "default", "png_filter": "adaptive"}
    small = _run(shop, tmp_path / "small", tmp_path, cache_dir=cache, **old)
    pngs = [k for k in fast if k.endswith(".png")]
    assert pngs and all(fast[k] != small[k] for k in pngs)
    for k in pngs:
        fast_pixels, small_pixels = (np.asarray(Image.open(tmp_path / d / k)) for d in ("fast", "small"))
        assert np.array_equal(fast_pixels, small_pixels)
    assert len([d for d in Path(cache).iterdir() if d.is_dir()]) == 2  # one cache folder per setting


def test_a_source_listing_no_pairs_gives_an_empty_manifest_not_an_error(tmp_path):
    (tmp_path / "empty").mkdir()
    (tmp_path / "empty" / "pairs.csv").write_text("person,garment,category\n")
    report = import_sources(ImportParams(sources=[ImportSource(kind="folder", path=str(tmp_path / "empty"))]),
                            tmp_path / "out", tmp_path)
    assert report.total == 0 and len(read_manifest(tmp_path / "out")) == 0
    import_sources(ImportParams(sources=[]), tmp_path / "none", tmp_path)
    assert len(read_manifest(tmp_path / "none")) == 0
