"""The content-addressed file store: one inode per content, restored exactly, never trusted once edited."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from components.file_store import FileStore, place


def test_a_stored_file_and_its_blob_are_one_inode_and_a_deleted_output_comes_back_identical(tmp_path: Path):
    store = FileStore(tmp_path / "store")
    out = tmp_path / "out" / "a.png"
    out.parent.mkdir()
    out.write_bytes(b"pixels")
    sha, size, mtime = store.put(out)
    assert os.stat(out).st_ino == os.stat(store.blob(sha)).st_ino
    out.unlink()
    assert store.restore(sha, size, mtime, out)
    assert out.read_bytes() == b"pixels" and out.stat().st_mtime_ns == mtime


def test_identical_content_written_twice_keeps_one_blob_and_both_files_match_the_record(tmp_path: Path):
    store = FileStore(tmp_path / "store")
    first, second = tmp_path / "a.jpg", tmp_path / "b.jpg"
    first.write_bytes(b"same garment")
    second.write_bytes(b"same garment")
    facts = [store.put(first), store.put(second)]
    assert facts[0] == facts[1]
    assert len([p for p in (tmp_path / "store").rglob("*") if p.is_file()]) == 1
    assert second.stat().st_mtime_ns == facts[0][2]


def test_a_blob_edited_in_place_after_it_was_recorded_is_not_restored(tmp_path: Path):
    store = FileStore(tmp_path / "store")
    out = tmp_path / "mask.png"
    out.write_bytes(b"mask")
    sha, size, mtime = store.put(out)
    out.write_bytes(b"edited by hand")  # the same inode as the blob: the blob changed too
    out.unlink()
    assert not store.restore(sha, size, mtime, out)
    assert not out.exists()


def test_across_filesystems_the_file_is_copied_with_its_mtime(tmp_path: Path):
    shm = Path("/dev/shm")
    if not shm.is_dir() or os.stat(shm).st_dev == os.stat(tmp_path).st_dev:
        pytest.skip("needs a second filesystem (/dev/shm) to make hard links impossible")
    src = tmp_path / "blob"
    src.write_bytes(b"content")
    dst = shm / f"vton-file-store-test-{os.getpid()}" / "out.png"
    try:
        how = place(src, dst)
        assert how in ("reflink", "copy")
        assert dst.read_bytes() == b"content" and dst.stat().st_mtime_ns == src.stat().st_mtime_ns
    finally:
        if dst.exists():
            dst.unlink()
            dst.parent.rmdir()
