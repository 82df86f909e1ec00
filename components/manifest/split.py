"""The split rule: which side of train/test a sample lands on, decided by a content hash."""

from __future__ import annotations


def split_for(person_sha256: str, test_fraction: float) -> str:
    """A deterministic split from the person's content hash, so one person never lands in both splits."""
    return "test" if int(person_sha256[:8], 16) / 0xFFFFFFFF < test_fraction else "train"
