"""Merging dvc.lock entries from stages that ran on other workers."""

from __future__ import annotations

from pathlib import Path

from components.stage.lock import merge_locks, read_lock, write_lock

BASE = {"schema": "2.0", "stages": {"import": {"cmd": "vton data import", "outs": [{"path": "a", "md5": "1"}]}}}
INCOMING = {"schema": "2.0", "stages": {"train": {"cmd": "vton train", "outs": [{"path": "m", "md5": "9"}]},
                                        "import": {"cmd": "vton data import", "outs": [{"path": "a", "md5": "2"}]}}}


def test_incoming_entries_replace_and_extend_the_base_without_mutating_it():
    merged = merge_locks(BASE, INCOMING)
    assert merged["stages"]["import"]["outs"][0]["md5"] == "2"
    assert merged["stages"]["train"]["cmd"] == "vton train"
    assert BASE["stages"]["import"]["outs"][0]["md5"] == "1"


def test_only_limits_which_stages_are_taken():
    merged = merge_locks(BASE, INCOMING, only=["train"])
    assert merged["stages"]["import"]["outs"][0]["md5"] == "1"
    assert "train" in merged["stages"]


def test_a_missing_lock_reads_as_empty_and_round_trips(tmp_path: Path):
    assert read_lock(tmp_path / "dvc.lock") == {"schema": "2.0", "stages": {}}
    write_lock(tmp_path / "dvc.lock", merge_locks({}, INCOMING))
    assert read_lock(tmp_path / "dvc.lock")["stages"] == INCOMING["stages"]
    assert (tmp_path / "dvc.lock").read_text().startswith("schema: '2.0'\nstages:")
