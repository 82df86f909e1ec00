"""Leakage: the same person in train and test (resized, re-encoded) is caught on real photos; the band search
finds exactly the pairs a brute-force comparison finds."""

from __future__ import annotations

import io
from pathlib import Path

import numpy as np
import pandas as pd
from PIL import Image

from components.manifest.image_io import hamming_distance, perceptual_hash, sha256_bytes
from components.validate.leakage import bands, hashes_to_uint64, near_pairs, popcount64
from components.validate.stage import validate_manifest
from tests.validate.factory import FRAME_AREA, H, W, gate_params


def _portrait(photo: Image.Image, size: tuple[int, int] = (W, H)) -> Image.Image:
    """A 3:4 centre crop of `photo` resized to `size`."""
    w, h = photo.size
    cw = min(w, int(h * 3 / 4))
    left = (w - cw) // 2
    return photo.crop((left, 0, left + cw, int(cw * 4 / 3))).resize(size, Image.BICUBIC)


def _set_person(root: Path, df: pd.DataFrame, sid: str, img: Image.Image, fmt: str) -> None:
    i = int(df.index[df["sample_id"] == sid][0])
    rel = f"image/{sid}.{fmt.lower().replace('jpeg', 'jpg')}"
    buf = io.BytesIO()
    img.save(buf, format=fmt, **({"quality": 75} if fmt == "JPEG" else {}))
    (root / rel).write_bytes(buf.getvalue())
    decoded = Image.open(io.BytesIO(buf.getvalue())).convert("RGB")
    df.loc[i, ["person_path", "person_sha256", "person_phash"]] = [rel, sha256_bytes(buf.getvalue()), perceptual_hash(decoded)]
    df.loc[i, ["person_width", "person_height"]] = list(decoded.size)


def test_same_person_resized_and_reencoded_across_splits_is_caught(clean, real_photos) -> None:
    root, df = clean
    train_img = _portrait(real_photos["astronaut"])
    _set_person(root, df, "up0tr", train_img, "PNG")
    _set_person(root, df, "up3te", train_img.resize((384, 512), Image.LANCZOS), "JPEG")
    result = validate_manifest(df, root, gate_params(), FRAME_AREA)
    assert [r.name for r in result.failed] == ["integrity.person_leakage"]
    rule = result.failed[0]
    assert rule.sample_ids == ["up0tr"] and rule.per_category["upper_body"] == 1
    assert "test sample up3te" in rule.examples[0]


def test_different_real_people_across_splits_are_not_flagged(clean, real_photos) -> None:
    root, df = clean
    _set_person(root, df, "up0tr", _portrait(real_photos["astronaut"]), "PNG")
    _set_person(root, df, "lo0tr", _portrait(real_photos["camera"]), "PNG")
    _set_person(root, df, "up3te", _portrait(real_photos["grace_hopper"]), "JPEG")
    result = validate_manifest(df, root, gate_params(), FRAME_AREA)
    assert result.passed, result.summary()


def test_band_search_finds_exactly_the_brute_force_pairs() -> None:
    rng = np.random.default_rng(0)
    a = rng.integers(0, 2**63, size=400, dtype=np.uint64) * np.uint64(2) + rng.integers(0, 2, 400, dtype=np.uint64)
    # b: some near copies of a (flip up to 5 bits) and some unrelated hashes
    flips = [np.uint64(sum(1 << int(k) for k in rng.choice(64, size=rng.integers(0, 6), replace=False))) for _ in range(150)]
    b = np.concatenate([a[:150] ^ np.array(flips, dtype=np.uint64), rng.integers(0, 2**63, size=250, dtype=np.uint64)])
    for d in (0, 3, 5, 8):
        found = near_pairs(a, b, d)
        dist = popcount64((a[:, None] ^ b[None, :]).reshape(-1)).reshape(len(a), len(b))
        ii, jj = np.nonzero(dist <= d)
        assert set(zip(found["i"], found["j"])) == set(zip(ii.tolist(), jj.tolist()))
        assert (found["distance"].to_numpy() == dist[found["i"], found["j"]]).all()


def test_popcount_and_bands_agree_with_python() -> None:
    hexes = pd.Series(["ffffffffffffffff", "0000000000000001", "8000000000000000", "a5a5a5a5a5a5a5a5"])
    values = hashes_to_uint64(hexes)
    assert popcount64(values).tolist() == [64, 1, 1, 32]
    assert hamming_distance(hexes[0], hexes[3]) == popcount64(values[:1] ^ values[3:])[0]
    assert sum(w for _, w in bands(64, 7)) == 64 and len(bands(64, 7)) == 7
