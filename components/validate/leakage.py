"""Train/test leakage: near-duplicate perceptual hashes found by multi-index hashing, and augmented copies.

Two 64-bit hashes within d bits agree exactly on at least one of d+1 disjoint bit bands (pigeonhole), so
joining train and test on each band's value finds every candidate pair without comparing all n x m pairs;
the candidates' exact distances come from a vectorised popcount.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

_POPCOUNT = np.array([bin(i).count("1") for i in range(256)], dtype=np.uint8)


def hashes_to_uint64(hexes: pd.Series) -> np.ndarray:
    """Hex perceptual hashes as uint64 (callers drop nulls first)."""
    return np.array([int(h, 16) for h in hexes.astype(str)], dtype=np.uint64)


def popcount64(x: np.ndarray) -> np.ndarray:
    """Set bits of each uint64."""
    return _POPCOUNT[np.ascontiguousarray(x, dtype=np.uint64).view(np.uint8).reshape(-1, 8)].sum(axis=1)


def bands(bits: int = 64, count: int = 1) -> list[tuple[int, int]]:
    """(shift, width) of `count` disjoint bands covering `bits` bits."""
    widths = [bits // count + (1 if i < bits % count else 0) for i in range(count)]
    shifts = np.concatenate([[0], np.cumsum(widths)[:-1]]).astype(int)
    return list(zip(shifts.tolist(), widths))


def near_pairs(a: np.ndarray, b: np.ndarray, max_distance: int) -> pd.DataFrame:
    """Every (i, j, distance) with popcount(a[i] ^ b[j]) <= max_distance, for uint64 arrays a and b."""
    if len(a) == 0 or len(b) == 0:
        return pd.DataFrame({"i": [], "j": [], "distance": []}, dtype=np.int64)
    ia, ib = np.arange(len(a)), np.arange(len(b))
    found = []
    for shift, width in bands(64, max_distance + 1):
        mask = np.uint64((1 << width) - 1)
        ka = pd.DataFrame({"key": (a >> np.uint64(shift)) & mask, "i": ia})
        kb = pd.DataFrame({"key": (b >> np.uint64(shift)) & mask, "j": ib})
        found.append(ka.merge(kb, on="key")[["i", "j"]])
    pairs = pd.concat(found, ignore_index=True).drop_duplicates()
    dist = popcount64(a[pairs["i"].to_numpy()] ^ b[pairs["j"].to_numpy()])
    pairs = pairs.assign(distance=dist.astype(np.int64))
    return pairs[pairs["distance"] <= max_distance].reset_index(drop=True)


def split_leak_partner(df: pd.DataFrame, hash_column: str, sha_column: str, max_distance: int) -> pd.Series:
    """For train rows: 'test sample <id> (<d> bits)' when a test row's image is an exact or near duplicate, else None.

    `df` holds ok samples. Hashes are de-duplicated per split first: a person photographed with ten
    garments is one hash, not ten.
    """
    out = pd.Series(None, index=df.index, dtype=object)
    train = df[(df["split"] == "train") & df[hash_column].notna()]
    test = df[(df["split"] == "test") & df[hash_column].notna()]
    if train.empty or test.empty:
        return out
    # Byte-identical files are duplicates even where the perceptual hash is missing or unusual.
    test_by_sha = test.dropna(subset=[sha_column]).drop_duplicates(sha_column).set_index(sha_column)["sample_id"]
    sha_hit = df[sha_column].map(test_by_sha).where(df["split"] == "train")
    for i in sha_hit.dropna().index:
        out.at[i] = f"test sample {sha_hit.at[i]} (identical file)"
    train_h = train[hash_column].str.lower().unique()
    test_first = test.drop_duplicates(hash_column)
    test_h = test_first[hash_column].str.lower().to_numpy()
    pairs = near_pairs(hashes_to_uint64(pd.Series(train_h)), hashes_to_uint64(pd.Series(test_h)), max_distance)
    if pairs.empty:
        return out
    best = pairs.sort_values(["distance", "j"]).drop_duplicates("i")
    partner = {
        train_h[i]: f"test sample {test_first['sample_id'].iat[j]} ({d} bits)"
        for i, j, d in best[["i", "j", "distance"]].itertuples(index=False)
    }
    hits = train[hash_column].str.lower().map(partner).dropna()
    for i in hits.index:
        if pd.isna(out.at[i]):
            out.at[i] = hits.at[i]
    return out


def augmented_test_parent(df: pd.DataFrame, all_rows: pd.DataFrame) -> pd.Series:
    """For train rows whose parent_id is a test sample (in `all_rows`): that parent's id, else None."""
    test_ids = set(all_rows.loc[all_rows["split"] == "test", "sample_id"])
    hit = (df["split"] == "train") & df["parent_id"].isin(test_ids)
    return df["parent_id"].where(hit, None).astype(object)
