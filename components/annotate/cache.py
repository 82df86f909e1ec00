"""The annotate cache: model outputs per person image and finished-sample records, keyed by content.

    <cache_dir>/maps/<kk>/<person_key>.npz      BodyMaps (or the quarantine reason) of one person image
    <cache_dir>/samples/<kk>/<sample_key>.json  the manifest row and files of one finished sample
    <cache_dir>/files/<kk>/<sha256>             the finished files themselves, by content (components/file_store.py)
    <cache_dir>/overlays/<kk>/<sheet_key>.jpg   an overlay sheet, keyed by the bytes of the files it shows
    <cache_dir>/digests.json                    file facts (sha256, ...) by path, size and mtime (file_digests.py)

It lives outside the stage's DVC output (default `.cache/annotate` in the project, git- and dvc-ignored)
because `dvc repro` deletes a stage's outputs before running it: a cache inside them would be empty on
every run. Keys hash the input bytes and every annotator's name, version and weights checksum, so
unchanged inputs are never annotated twice, a new model re-annotates, and a killed run resumes. A finished
sample whose files were deleted (as `dvc repro` deletes the outputs) is restored from the file store by a
link per file, so a re-run whose inputs are all cached costs about as much as listing them.
Each entry is written to a temp file and renamed, so a kill never leaves a half-written entry.
"""

from __future__ import annotations

import hashlib
import io
import json
import zipfile
from pathlib import Path

import numpy as np

from components.annotate.maps import BodyMaps
from components.file_store import FileStore, write_atomically


def digest(obj) -> str:
    """sha256 of `obj` as canonical JSON."""
    return hashlib.sha256(json.dumps(obj, sort_keys=True, default=str).encode()).hexdigest()


def _npz_bytes(arrays: dict[str, np.ndarray]) -> bytes:
    """What np.savez_compressed writes (np.load reads it), at zlib level 1 instead of 6: the maps of a
    768x1024 person take ~5 ms instead of ~15 ms to compress, for ~25 KB instead of ~16 KB."""
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED, compresslevel=1) as zf:
        for name, array in arrays.items():
            with zf.open(f"{name}.npy", "w", force_zip64=True) as fh:
                np.lib.format.write_array(fh, np.asanyarray(array), allow_pickle=False)
    return buf.getvalue()


class AnnotateCache:
    """Read and write person maps and sample records under one cache directory."""

    def __init__(self, root: Path) -> None:
        self.root = Path(root)
        self.files = FileStore(self.root / "files")

    def _maps_path(self, key: str) -> Path:
        return self.root / "maps" / key[:2] / f"{key}.npz"

    def _record_path(self, key: str) -> Path:
        return self.root / "samples" / key[:2] / f"{key}.json"

    def load_maps(self, key: str) -> BodyMaps | str | None:
        """The cached BodyMaps, the cached quarantine reason (str), or None on a miss."""
        path = self._maps_path(key)
        if not path.is_file():
            return None
        try:
            with np.load(path, allow_pickle=False) as data:
                if "_quarantine" in data.files:
                    return str(data["_quarantine"])
                return BodyMaps.from_npz_dict(data)
        except (OSError, ValueError, KeyError):
            return None  # unreadable entry: recompute it

    def save_maps(self, key: str, maps: BodyMaps | str) -> None:
        """Store the maps of a person image (or the reason it was quarantined)."""
        arrays = {"_quarantine": np.array(maps)} if isinstance(maps, str) else maps.to_npz_dict()
        write_atomically(self._maps_path(key), _npz_bytes(arrays))

    def maps_entry(self, key: str) -> bytes | None:
        """The stored bytes of a person's maps entry (to hand to another cache as they are), or None."""
        try:
            return self._maps_path(key).read_bytes()
        except OSError:
            return None

    def put_maps_entry(self, key: str, data: bytes) -> None:
        """Store a maps entry another cache wrote (the bytes of `maps_entry`)."""
        write_atomically(self._maps_path(key), data)

    def load_record(self, key: str, out_dir: Path) -> dict | None:
        """The finished row for `key` once every file it lists is in `out_dir` as recorded (restored from the
        file store where missing or changed), else None."""
        path = self._record_path(key)
        if not path.is_file():
            return None
        try:
            record = json.loads(path.read_text())
        except (OSError, ValueError):
            return None
        if not self.files.ensure_files(record.get("files", {}), out_dir):
            return None  # a record from before the file store, or a lost blob: render the sample again
        return record["row"]

    def sheet(self, key: str) -> Path | None:
        """The cached overlay sheet for `key`, or None on a miss."""
        path = self.root / "overlays" / key[:2] / f"{key}.jpg"
        return path if path.is_file() else None

    def save_sheet(self, key: str, data: bytes) -> Path:
        """Store an overlay sheet's JPEG bytes under `key`; returns the entry's path."""
        path = self.root / "overlays" / key[:2] / f"{key}.jpg"
        write_atomically(path, data)
        return path

    def save_record(self, key: str, row: dict, out_dir: Path, files: list[str]) -> None:
        """Remember that `row` is finished, store its files by content and record each one's (sha256, size, mtime)."""
        facts = self.files.put_files(out_dir, files)
        write_atomically(self._record_path(key), json.dumps({"row": row, "files": facts}, default=str).encode())
