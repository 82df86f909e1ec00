"""The augment cache: finished variants (manifest row + files) keyed by what made them.

    <cache_dir>/variants/<kk>/<key>.json   one variant's manifest row and its files' (sha256, size, mtime)
    <cache_dir>/files/<kk>/<sha256>        the files themselves, by content (components/file_store.py)
    <cache_dir>/digests.json               the parents' files' sha256 by path, size and mtime (hashed once)

A variant is a pure function of its parent's row and file bytes, the augment params, its variant number
and the code that draws and writes it, so that is its key. `dvc repro` deletes data/augmented before the
stage runs; with this cache outside it, a re-run puts unchanged variants back by a link per file instead of
decoding, augmenting and encoding them again, and a new parent costs only its own variants.
"""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path

import numpy as np

from components.file_store import FileStore

# The modules whose code shapes a variant's pixels, files or row: a change to any re-augments.
CODE_MODULES = (
    "data/augment/mirror.py", "data/augment/run.py", "data/augment/sample.py", "data/augment/transforms.py",
    "annotate/keypoints.py", "annotate/layout.py", "annotate/measure.py", "manifest/image_io.py",
    "data/augment/size.py", "fit/ratios.py", "fit/columns.py", "annotate/regions.py", "annotate/frame.py",
)


def code_digest() -> str:
    """sha256 of the code that draws and writes variants."""
    root = Path(__file__).resolve().parents[2]
    h = hashlib.sha256()
    for rel in CODE_MODULES:
        h.update((root / rel).read_bytes())
    return h.hexdigest()


def _json_default(value):
    """numpy scalars as Python numbers (a manifest row may carry them); anything else as text."""
    return value.item() if isinstance(value, np.generic) else str(value)


def parent_key(row: dict, file_digests: dict[str, str], settings: dict, code: str) -> str:
    """The key every variant of this parent shares: its row, its files' sha256, the params and the code."""
    blob = json.dumps({"row": row, "files": file_digests, "params": settings, "code": code}, sort_keys=True,
                      default=_json_default)
    return hashlib.sha256(blob.encode()).hexdigest()


def variant_key(parent: str, variant: int | str) -> str:
    """The key of one variant of a parent."""
    return hashlib.sha256(f"{parent}:{variant}".encode()).hexdigest()


class AugmentCache:
    """Variant records and their files under one cache directory."""

    def __init__(self, root: Path) -> None:
        self.root = Path(root)
        self.files = FileStore(self.root / "files")

    def _record_path(self, key: str) -> Path:
        return self.root / "variants" / key[:2] / f"{key}.json"

    def load(self, key: str, out_dir: Path) -> dict | None:
        """The variant's row once each of its files is in `out_dir` (restored where missing), else None."""
        try:
            record = json.loads(self._record_path(key).read_text())
        except (OSError, ValueError):
            return None
        if not self.files.ensure_files(record["files"], out_dir):
            return None
        return record["row"]

    def save(self, key: str, row: dict, out_dir: Path, files: list[str]) -> None:
        """Store the variant's files by content and its row, atomically."""
        facts = self.files.put_files(out_dir, files)
        path = self._record_path(key)
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
        tmp.write_text(json.dumps({"row": row, "files": facts}, default=_json_default))
        tmp.replace(path)
