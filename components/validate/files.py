"""File checks that scale: existence from one directory listing per folder, decoding on a seeded sample.

Statting or opening 600k files (100k samples x 6 files) one by one takes minutes; listing the few
folders they live in and matching names with pandas takes well under a second. Decoding is the part that
is scoped: `decode_sample` files per column are opened and fully decoded (-1: all of them).
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import numpy as np
import pandas as pd

IMAGE_SUFFIXES = frozenset({".png", ".jpg", ".jpeg", ".webp", ".bmp"})


def _listing(directory: str) -> frozenset[str]:
    try:
        return frozenset(os.listdir(directory))
    except OSError:  # a missing folder means every file in it is missing
        return frozenset()


def missing_file_mask(paths: pd.Series, dataset_dir: Path) -> pd.Series:
    """True where a non-null manifest path (relative to `dataset_dir`) names no existing file."""
    out = pd.Series(False, index=paths.index)
    present = paths.notna()
    listings: dict[str, frozenset[str]] = {}
    flags = []
    for rel in paths[present].astype(str).tolist():  # a plain loop beats pandas' string accessors here
        folder, _, name = rel.rpartition("/")
        if folder not in listings:
            listings[folder] = _listing(os.path.normpath(os.path.join(dataset_dir, folder)))
        flags.append(name not in listings[folder])
    if flags:
        out[present] = flags
    return out


def missing_files(df: pd.DataFrame, dataset_dir: Path, columns: tuple[str, ...]) -> pd.Series:
    """Per row, the columns whose file is missing (comma-separated), or None when every named file exists."""
    flags = pd.DataFrame({c: missing_file_mask(df[c], dataset_dir) for c in columns if c in df}, index=df.index)
    out = pd.Series(None, index=df.index, dtype=object)
    if flags.empty:
        return out
    bad = flags.any(axis=1)
    for i in bad[bad].index:  # only failing rows are joined into text
        out.at[i] = ", ".join(c for c in flags.columns if flags.at[i, c])
    return out


def decode_file(path: Path) -> None:
    """Raise if the file does not decode: images are fully decoded, JSON parsed, numpy arrays loaded."""
    suffix = path.suffix.lower()
    if suffix in IMAGE_SUFFIXES:
        from PIL import Image

        with Image.open(path) as img:
            img.load()
    elif suffix == ".json":
        json.loads(path.read_text())
    elif suffix in (".npy", ".npz"):
        loaded = np.load(path, allow_pickle=False)
        if hasattr(loaded, "close"):  # .npz archives are opened lazily; touch every array
            for key in loaded.files:
                loaded[key]
            loaded.close()
    elif path.stat().st_size == 0:
        raise ValueError("empty file")


def decode_errors(
    df: pd.DataFrame, dataset_dir: Path, columns: tuple[str, ...], sample: int, seed: int = 0
) -> tuple[pd.Series, int]:
    """Per row, which files failed to decode (or None), checking `sample` files per column; and how many were opened."""
    notes: dict[object, list[str]] = {}
    rng = np.random.default_rng(seed)
    opened = 0
    root = str(dataset_dir)
    for col in columns:
        if col not in df or sample == 0:
            continue
        # One pass over the column as plain values: per-cell `df.at` costs more than decoding a small PNG.
        present = df[col].notna().to_numpy()
        idx = df.index[present].to_numpy()
        rels = df[col][present].astype(str).tolist()
        if sample >= 0 and len(idx) > sample:
            picks = np.sort(rng.choice(len(idx), size=sample, replace=False))
            idx, rels = idx[picks], [rels[k] for k in picks]
        for i, rel in zip(idx.tolist(), rels):
            path = Path(os.path.normpath(os.path.join(root, rel)))
            if not path.is_file():
                continue  # missing files are completeness.files_exist's finding, not a decode failure
            opened += 1
            try:
                decode_file(path)
            except Exception as exc:  # noqa: BLE001 - any decoder failure is a property of the file
                notes.setdefault(i, []).append(f"{col}: {type(exc).__name__}: {str(exc)[:80]}")
    out = pd.Series(None, index=df.index, dtype=object)
    for i, found in notes.items():
        out.at[i] = "; ".join(found)
    return out, opened
