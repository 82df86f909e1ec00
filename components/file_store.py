"""A content-addressed store of finished files, restored into an output folder by hard link, reflink or copy.

    <root>/<kk>/<sha256>    one blob per distinct file content

A stage's outputs are deleted by `dvc repro` before it runs again; with the finished files kept here, a
re-run whose inputs are all cached puts them back at the cost of a link per file instead of re-rendering
and re-encoding them. A file is stored by linking it, so the output file and the blob are one inode: its
size and mtime are then the blob's, and a blob edited in place (which would edit the output too) is caught
by comparing both with what was recorded at store time.
"""

from __future__ import annotations

import errno
import os
import shutil
import threading
from pathlib import Path

from components.hashing import sha256_file

_FICLONE = 0x40049409  # Linux ioctl: share the source's blocks (btrfs, XFS, overlayfs on those)
# What os.link raises where the filesystem has no hard links between these paths.
_NO_LINKS = (errno.EXDEV, errno.EPERM, errno.EMLINK, errno.ENOTSUP, errno.EOPNOTSUPP)


def _reflink(src: Path, dst: Path) -> bool:
    """Clone `src` into a new file `dst` sharing its blocks; False where the filesystem cannot."""
    try:
        import fcntl
    except ImportError:  # not POSIX
        return False
    try:
        with open(src, "rb") as fin, open(dst, "wb") as fout:
            fcntl.ioctl(fout.fileno(), _FICLONE, fin.fileno())
    except OSError:
        dst.unlink(missing_ok=True)
        return False
    shutil.copystat(src, dst)
    return True


def place(src: Path, dst: Path) -> str:
    """Put `src`'s content at `dst` (replaced atomically): a hard link, else a reflink, else a copy that keeps
    the mtime. Returns how ("link", "reflink" or "copy")."""
    # Where `dst` is absent (a re-run after `dvc repro` deleted the outputs), one link call is the whole job;
    # its folder is made only when the link says it is missing.
    for attempt in range(2):
        try:
            os.link(src, dst)
            return "link"
        except FileNotFoundError:
            if attempt or not src.exists():
                raise
            dst.parent.mkdir(parents=True, exist_ok=True)
        except OSError:  # there already (replaced below), or links unsupported here
            break
    try:
        if os.path.samestat(os.stat(src), os.stat(dst)):
            return "link"  # already this blob's link: renaming a second link onto it would leave the temp behind
    except OSError:
        pass
    dst.parent.mkdir(parents=True, exist_ok=True)
    tmp = _temporary_name(dst)
    tmp.unlink(missing_ok=True)
    try:
        os.link(src, tmp)
        how = "link"
    except OSError as exc:
        if exc.errno not in _NO_LINKS:
            raise
        how = _copy(src, tmp)
    tmp.replace(dst)
    return how


def write_atomically(path: Path, data: bytes) -> None:
    """Write `data` to a temp file beside `path` and rename it there, so a kill never leaves half a file."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = _temporary_name(path)
    tmp.write_bytes(data)
    tmp.replace(path)


def _temporary_name(dst: Path) -> Path:
    """A name beside `dst` no other process or thread uses at the same time (writer threads share a pid)."""
    return dst.with_name(f".{dst.name}.{os.getpid()}.{threading.get_ident()}.tmp")


def _copy(src: Path, dst: Path) -> str:
    """A reflink of `src` at `dst`, else a copy that keeps the mtime; returns which."""
    if _reflink(src, dst):
        return "reflink"
    shutil.copy2(src, dst)
    return "copy"


def _add_blob(path: Path, blob: Path) -> bool:
    """Store `path`'s content as `blob`, never replacing a blob stored meanwhile: False when one was.

    Two writer threads (or processes) storing the same content race here; replacing the first one's blob would
    change the inode, size and mtime its record holds, and the cache would later distrust that blob."""
    blob.parent.mkdir(parents=True, exist_ok=True)
    try:
        os.link(path, blob)
        return True
    except FileExistsError:
        return False
    except OSError as exc:
        if exc.errno not in _NO_LINKS:
            raise
    tmp = _temporary_name(blob)  # no hard links here: a copy, moved in unless the blob appeared meanwhile
    _copy(path, tmp)
    if blob.exists():
        tmp.unlink(missing_ok=True)
        return False
    tmp.replace(blob)
    return True


class FileStore:
    """Blobs by sha256 under one directory."""

    def __init__(self, root: Path) -> None:
        self.root = Path(root)

    def blob(self, sha256: str) -> Path:
        """Where the blob of this content lives (whether or not it is stored)."""
        return self.root / sha256[:2] / sha256

    def put(self, path: Path) -> tuple[str, int, int]:
        """Store `path`'s content and make `path` that blob's inode where links work; (sha256, size, mtime_ns).

        Identical content written twice (the same garment for two persons) keeps one blob, and the second
        file becomes a link to it, so every recorded (size, mtime) is the blob's."""
        sha = sha256_file(path)
        blob = self.blob(sha)
        if blob.is_file() or not _add_blob(path, blob):
            place(blob, path)
        st = path.stat()
        return sha, st.st_size, st.st_mtime_ns

    def restore(self, sha256: str, size: int, mtime_ns: int, dest: Path) -> bool:
        """Put the blob at `dest` when it is stored exactly as recorded; False (nothing written) otherwise."""
        blob = self.blob(sha256)
        try:
            st = blob.stat()
        except OSError:
            return False
        if st.st_size != size or st.st_mtime_ns != mtime_ns:  # replaced or edited in place since: not trusted
            return False
        place(blob, dest)
        return True

    def put_files(self, out_dir: Path, files: list[str]) -> dict[str, list]:
        """Store each of `out_dir`'s `files` (relative paths): {path: [sha256, size, mtime_ns]}, for a record."""
        return {rel: list(self.put(out_dir / rel)) for rel in files}

    def ensure_files(self, facts: dict[str, list], out_dir: Path) -> bool:
        """Whether every recorded file is in `out_dir` as recorded, restoring the missing or changed ones;
        False (some files may have been restored) when a record is malformed or a blob is gone or edited."""
        for rel, fact in facts.items():
            if len(fact) != 3:
                return False  # a record from before the file store
            sha, size, mtime_ns = fact
            target = out_dir / rel
            try:
                st = target.stat()
                if st.st_size == size and st.st_mtime_ns == mtime_ns:
                    continue
            except OSError:
                pass
            if not self.restore(sha, size, mtime_ns, target):
                return False
        return True
