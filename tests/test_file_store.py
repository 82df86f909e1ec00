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


def test_storing_a_file_that_already_is_its_blobs_link_leaves_no_temp_file_beside_it(tmp_path: Path):
    store = FileStore(tmp_path / "store")
    out = tmp_path / "out" / "a.png"
    out.parent.mkdir()
    out.write_bytes(b"pixels")
    first = store.put(out)
    assert store.put(out) == first  # a whole-run record stores files the sample records stored already
    assert place(store.blob(first[0]), out) == "link"
    assert sorted(p.name for p in out.parent.iterdir()) == ["a.png"]


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


def test_threads_storing_the_same_content_at_once_each_get_a_record_that_restores(tmp_path: Path):
    import threading

    store, threads, rounds = FileStore(tmp_path / "store"), 6, 30
    records: list[tuple[Path, tuple]] = []
    errors: list[BaseException] = []
    barrier, lock = threading.Barrier(threads, timeout=30), threading.Lock()

    def writer(t: int) -> None:
        try:
            for r in range(rounds):  # each round: every thread stores the same new content at the same moment
                out = tmp_path / "out" / f"{r}-{t}.png"
                out.parent.mkdir(exist_ok=True)
                out.write_bytes(f"variant {r}".encode())
                barrier.wait()
                facts = store.put(out)
                with lock:
                    records.append((out, facts))
        except BaseException as exc:  # noqa: BLE001 - reported below; the others stop at the broken barrier
            barrier.abort()
            errors.append(exc)

    pool = [threading.Thread(target=writer, args=(t,)) for t in range(threads)]
    for thread in pool:
        thread.start()
    for thread in pool:
        thread.join()
    assert not [e for e in errors if not isinstance(e, threading.BrokenBarrierError)], errors
    assert len(records) == threads * rounds
    for out, (sha, size, mtime) in records:
        out.unlink()
        assert store.restore(sha, size, mtime, out), f"{out.name}: its blob was replaced after it was recorded"
    assert len([p for p in (tmp_path / "store").rglob("*") if p.is_file()]) == rounds
