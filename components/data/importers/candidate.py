"""A candidate sample as a source layout describes it, before any file is decoded."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PIL import Image


@dataclass(frozen=True)
class GarmentCut:
    """A garment still to be cut from a photo (undecoded bytes) with a mask region at the photo's size.

    `key` is a content hash of the photo, the mask and the rule that made the region: the garment's sha256
    in the manifest and its key in the normalised-image cache, so an unchanged cut is never redone."""

    photo: bytes
    region_bits: np.ndarray  # the garment's pixels, np.packbits of a bool array of `shape`
    shape: tuple[int, int]  # the photo's stored height x width
    key: str
    origin: str  # where the photo came from ("row 12"), for the garment's own quarantine reasons

    def region(self) -> np.ndarray:
        """The garment's pixels as a bool array at the photo's stored size."""
        count = self.shape[0] * self.shape[1]
        return np.unpackbits(self.region_bits, count=count).astype(bool).reshape(self.shape)


@dataclass
class Candidate:
    """One (person, garment) pair from a source. Images come as files, or in memory for Hub datasets."""

    person: Path | Image.Image | bytes | None
    garment: Path | Image.Image | bytes | GarmentCut | None
    category: str | None
    source: str
    licence: str
    split: str | None = None  # None: assigned deterministically from split_key, else the person's content hash
    source_url: str | None = None
    source_image_url: str | None = None
    fetched_at: str | None = None
    caption: str | None = None
    origin: str = ""  # where in the source this came from, for error messages ("pairs.csv line 4")
    reason: str | None = None  # set when the layout itself already shows the pair is unusable
    unpaired_garment_sha256: str | None = None  # the garment a published unpaired test list gives this person
    split_key: str | None = None  # samples sharing it (views of one item) always share a split
    item_id: str | None = None  # the source's item (DeepFashion pid) the person and garment show
    person_view: str | None = None  # raw view string of the person photo (DeepFashion `pose`)
    garment_view: str | None = None  # raw view string of the photo the garment was cut from
    pairing: str | None = None  # components.manifest.schema.PAIRINGS: cross_view | same_view | paired | unpaired
    garment_source_url: str | None = None  # the row the garment was cut from
    source_class: str | None = None  # the source's own class name (DeepFashion `cloth_type`)
    gender: str | None = None  # the person's gender as the source spells it (DeepFashion `gender`)
    cloth_mask: Path | bytes | None = None  # the garment's cloth mask file (its size; >= 128 is garment), if given
