"""The augment cache: finished variants (manifest row + files) keyed by what made them.

    <cache_dir>/variants/<kk>/<key>.json   one variant's manifest row and its files' (sha256, size, mtime)
    <cache_dir>/files/<kk>/<sha256>        the files themselves, by content (components/file_store.py)
    <cache_dir>/digests.json               the parents' files' sha256 by path, size and mtime (hashed once)
    <cache_dir>/runs/<kk>/<key>.json       one whole run: its inputs' sha256, every output file and the manifest

A variant is a pure function of its parent's row and file bytes, the augment params, its variant number
and the code that draws and writes it, so that is its key. `dvc repro` deletes data/augmented before the
stage runs; with this cache outside it, a re-run puts unchanged variants back by a link per file instead of
decoding, augmenting and encoding them again, and a new parent costs only its own variants.

A whole run is a pure function of the input manifest's bytes, its parents' files, where the output lies
relative to the input (the rows' paths), the params and the code, so a re-run that changes none of them puts
the finished outputs and manifest back by a link per file, without reading, planning or writing a manifest.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
from pathlib import Path

from components.file_store import FileStore, write_atomically
from components.manifest.names import MANIFEST_FILENAME, SPLITS
from components.package_versions import installed_version

# The modules whose code shapes a variant's pixels, files or row: a change to any re-augments.
CODE_MODULES = (
    "data/augment/mirror.py", "data/augment/run.py", "data/augment/sample.py", "data/augment/transforms.py",
    "annotate/keypoints.py", "annotate/layout.py", "annotate/measure.py", "manifest/image_io.py",
    "data/augment/size.py", "fit/ratios.py", "fit/columns.py", "annotate/regions.py", "annotate/frame.py",
)


# Besides those, what turns the rows into the written manifest (a whole run's key only: variants do not depend on it).
MANIFEST_MODULES = ("manifest/schema.py", "fit/labels.py", "data/augment/cache.py")


# The libraries that draw, resample and encode a variant's pixels: an upgrade may change its bytes.
PIXEL_LIBRARIES = ("albumentations", "albucore", "opencv-python-headless", "numpy", "pillow", "scipy")


def library_versions(names: tuple[str, ...] = PIXEL_LIBRARIES) -> str:
    """`name==version` of each installed library in `names` (`==absent` if missing; nothing is imported)."""
    return ";".join(f"{name}=={installed_version(name)}" for name in names)


def code_digest(modules: tuple[str, ...] = CODE_MODULES) -> str:
    """sha256 of the code that draws and writes variants (or of `modules`, paths under components/) and of the
    versions of the libraries that shape their pixels."""
    root = Path(__file__).resolve().parents[2]
    h = hashlib.sha256()
    for rel in modules:
        h.update((root / rel).read_bytes())
    h.update(library_versions().encode())
    return h.hexdigest()


def run_key(manifest_sha256: str, prefix: str, params: dict, fit: dict, code: str) -> str:
    """The key of a whole run: the input manifest's bytes, where it lies from the output (`prefix`, which the
    rows' paths carry), the params (placement excluded) and the code that makes variants and the manifest."""
    blob = json.dumps({"manifest": manifest_sha256, "prefix": prefix, "params": params, "fit": fit,
                       "code": code, "manifest_code": code_digest(MANIFEST_MODULES)}, sort_keys=True)
    return hashlib.sha256(blob.encode()).hexdigest()


def _json_default(value):
    """numpy scalars as Python numbers (a manifest row may carry them); anything else as text."""
    import numpy as np  # here, not at the top: a cached whole-run lookup imports this module and no numpy

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
        # (sha256, size, mtime_ns) of every variant file this run put in its output, for the run's own record.
        self.placed: dict[str, list] = {}

    def _record_path(self, key: str, kind: str = "variants") -> Path:
        return self.root / kind / key[:2] / f"{key}.json"

    def load(self, key: str, out_dir: Path) -> dict | None:
        """The variant's row once each of its files is in `out_dir` (restored where missing), else None."""
        try:
            record = json.loads(self._record_path(key).read_text())
        except (OSError, ValueError):
            return None
        if not self.files.ensure_files(record["files"], out_dir):
            return None
        self.placed.update(record["files"])
        return record["row"]

    def save(self, key: str, row: dict, out_dir: Path, files: list[str]) -> None:
        """Store the variant's files by content and its row, atomically."""
        facts = self.files.put_files(out_dir, files)
        self.placed.update(facts)
        self._write_record(self._record_path(key), {"row": row, "files": facts})

    @staticmethod
    def _write_record(path: Path, record: dict) -> None:
        write_atomically(path, json.dumps(record, default=_json_default).encode())

    def load_run(self, key: str, in_dir: Path, out_dir: Path, sha256) -> dict | None:
        """A finished run's report counts once its outputs and manifest are back in `out_dir` (the split folders
        emptied first, as a run does), else None with nothing touched: a record missing or unreadable, or an
        input file (`sha256(path)`, a FileDigests lookup) no longer the one recorded. A lost blob leaves the
        split folders partly restored: the caller's full run empties them again."""
        try:
            record = json.loads(self._record_path(key, "runs").read_text())
            for rel, sha in record["inputs"].items():
                if sha256(in_dir / rel) != sha:
                    return None
        except (OSError, ValueError, KeyError):
            return None
        if _holds_others(out_dir, record["files"]):
            clear_outputs(out_dir)  # stale variants go; otherwise the files already in place stay (no relink)
        if not self.files.ensure_files({**record["files"], MANIFEST_FILENAME: record["manifest"]}, out_dir):
            return None
        return record["report"]

    def save_run(self, key: str, inputs: dict[str, str], out_dir: Path, report: dict) -> None:
        """Record a finished run: its inputs' sha256 (paths relative to the input), the variant files it placed
        in `out_dir` and its manifest (stored by content too), and its report counts."""
        manifest = list(self.files.put(out_dir / MANIFEST_FILENAME))
        self._write_record(self._record_path(key, "runs"), {"inputs": inputs, "files": self.placed,
                                                            "manifest": manifest, "report": report})


def _holds_others(out_dir: Path, files: dict) -> bool:
    """Whether the split folders of `out_dir` hold a file that is not one of `files` (paths relative to it)."""
    prefix = len(str(out_dir)) + 1
    for split in SPLITS:
        for folder, _, names in os.walk(out_dir / split):
            for name in names:
                if os.path.join(folder, name)[prefix:] not in files:
                    return True
    return False


def clear_outputs(out_dir: Path) -> None:
    """Empty the split folders of an augmented dataset (stale variants go), keeping `out_dir` itself."""
    for split in SPLITS:
        shutil.rmtree(out_dir / split, ignore_errors=True)
    out_dir.mkdir(parents=True, exist_ok=True)
