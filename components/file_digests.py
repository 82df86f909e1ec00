"""File facts (sha256, image size, weights identity) remembered between runs by path, size and mtime.

Light on purpose (the standard library and file_store.py only): a cached stage re-run looks its inputs up here
before it imports anything that reads pixels or tables.
"""

from __future__ import annotations

import json
from pathlib import Path

from components.file_store import write_atomically
from components.hashing import sha256_file


class FileDigests:
    """Facts about files (sha256, image size, weights identity) remembered by (path, size, mtime_ns).

    A re-run over unchanged inputs then hashes nothing: a file whose size and mtime are unchanged is
    taken to hold the same bytes (the check make, rsync and DVC's own cache use). Saved atomically.
    """

    def __init__(self, root: Path) -> None:
        self.path = Path(root) / "digests.json"
        self._facts: dict[str, dict] = {}
        self._dirty = False
        try:
            self._facts = json.loads(self.path.read_text())
        except (OSError, ValueError):
            self._facts = {}

    @staticmethod
    def _stamp(path: Path) -> list[int]:
        st = Path(path).stat()
        return [st.st_size, st.st_mtime_ns]

    def get(self, path: Path, kind: str) -> object | None:
        """The remembered `kind` fact of `path` while the file is unchanged, else None."""
        entry = self._facts.get(str(path))
        try:
            stamp = self._stamp(path)
        except OSError:
            return None
        if entry is None or entry.get("stamp") != stamp:
            return None
        return entry.get(kind)

    def put(self, path: Path, kind: str, value: object) -> None:
        """Remember `value` as `path`'s `kind` fact for the file as it is now."""
        stamp = self._stamp(path)
        entry = self._facts.get(str(path))
        if entry is None or entry.get("stamp") != stamp:
            entry = self._facts[str(path)] = {"stamp": stamp}
        entry[kind] = value
        self._dirty = True

    def sha256(self, path: Path) -> str:
        """sha256 of the file's bytes, hashed only when the file changed since it was last hashed."""
        known = self.get(path, "sha256")
        if known is None:
            known = sha256_file(path)
            self.put(path, "sha256", known)
        return known

    def save(self) -> None:
        """Write the remembered facts back (only when something new was learnt)."""
        if self._dirty:
            write_atomically(self.path, json.dumps(self._facts, sort_keys=True).encode())
            self._dirty = False
