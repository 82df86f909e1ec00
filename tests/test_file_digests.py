"""components/file_digests.py: file facts remembered by path, size and mtime, so unchanged files hash once."""

from __future__ import annotations

import os

import components.file_digests as file_digests
from components.file_digests import FileDigests
from components.file_store import write_atomically
from components.hashing import sha256_file


def test_an_unchanged_file_is_hashed_once_across_saved_runs_and_a_changed_one_again(tmp_path, monkeypatch):
    photo = tmp_path / "photo.jpg"
    photo.write_bytes(b"first bytes")
    hashed = []
    monkeypatch.setattr(file_digests, "sha256_file", lambda path: hashed.append(path) or sha256_file(path))

    first = FileDigests(tmp_path / "cache")
    assert first.sha256(photo) == sha256_file(photo)
    first.save()
    assert FileDigests(tmp_path / "cache").sha256(photo) == sha256_file(photo) and hashed == [photo]

    photo.write_bytes(b"other bytes, another size")
    assert FileDigests(tmp_path / "cache").sha256(photo) == sha256_file(photo) and hashed == [photo, photo]


def test_a_fact_is_forgotten_once_its_file_changes_or_goes(tmp_path):
    photo = tmp_path / "photo.jpg"
    photo.write_bytes(b"x")
    digests = FileDigests(tmp_path / "cache")
    digests.put(photo, "size", [1, 1])
    assert digests.get(photo, "size") == [1, 1]
    os.utime(photo, ns=(1, 1))
    assert digests.get(photo, "size") is None
    photo.unlink()
    assert digests.get(photo, "size") is None


def test_an_unreadable_digest_file_starts_empty_and_write_atomically_leaves_no_temp_file(tmp_path):
    write_atomically(tmp_path / "cache" / "digests.json", b"{not json")
    assert FileDigests(tmp_path / "cache").get(tmp_path / "any", "sha256") is None
    assert [p.name for p in (tmp_path / "cache").iterdir()] == ["digests.json"]
