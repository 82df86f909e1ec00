"""A candidate sample as a source layout describes it, before any file is decoded."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from PIL import Image


@dataclass
class Candidate:
    """One (person, garment) pair from a source. Images come as files, or in memory for Hub datasets."""

    person: Path | Image.Image | bytes | None
    garment: Path | Image.Image | bytes | None
    category: str | None
    source: str
    licence: str
    split: str | None = None  # None: assigned deterministically from the person's content hash
    source_url: str | None = None
    source_image_url: str | None = None
    fetched_at: str | None = None
    caption: str | None = None
    origin: str = ""  # where in the source this came from, for error messages ("pairs.csv line 4")
    reason: str | None = None  # set when the layout itself already shows the pair is unusable
    unpaired_garment_sha256: str | None = None  # the garment a published unpaired test list gives this person
