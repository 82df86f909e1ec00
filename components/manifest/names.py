"""The manifest's file name, the dataset's split folders and the garment categories: the standard library only,
so params validation and a cached stage re-run need no pandas or pyarrow (schema.py re-exports them)."""

from __future__ import annotations

MANIFEST_FILENAME = "manifest.parquet"
SPLITS: tuple[str, ...] = ("train", "test")
CATEGORIES: tuple[str, ...] = ("upper_body", "lower_body", "dresses")
