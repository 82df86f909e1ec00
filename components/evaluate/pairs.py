"""The evaluation pairs: test-split samples paired with their own garment and with another of their category.

Deterministic: persons are taken in sample-id order (at most `max_per_category` per category) and the
unpaired garment of a person is the next person's garment in that order (wrapping round), so every run,
champion and challenger alike, sees exactly the same pairs.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from components.manifest.schema import CATEGORIES, read_manifest, resolve_path


@dataclass(frozen=True)
class EvalPair:
    """One (person, garment) try-on to generate and score."""

    kind: str  # paired | unpaired
    category: str
    person_id: str
    garment_id: str
    person: Path
    garment: Path
    agnostic_mask: Path
    garment_cloth_mask: Path | None  # of the garment worn in the result
    own_garment: Path  # the garment the person wears in the ground-truth photo
    own_cloth_mask: Path | None
    torso_length: float | None
    own_width_ratio: float | None
    own_length_ratio: float | None
    new_width_ratio: float | None
    new_length_ratio: float | None

    @property
    def pair_id(self) -> str:
        """Stable id: `<kind>/<person>__<garment>`."""
        return f"{self.kind}/{self.person_id}__{self.garment_id}"


def _num(value: object) -> float | None:
    try:
        f = float(value)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return None
    return f if math.isfinite(f) else None


def _path(directory: Path, value: object) -> Path | None:
    return resolve_path(directory, str(value)) if isinstance(value, str) and value else None


def test_rows(manifest: pd.DataFrame) -> pd.DataFrame:
    """The usable test samples: split test, status ok, with an agnostic mask, originals only (no augmented copies)."""
    rows = manifest[(manifest["split"] == "test") & (manifest["status"] == "ok")]
    rows = rows[rows["agnostic_mask_path"].notna() & rows["parent_id"].isna()]
    return rows.sort_values("sample_id", kind="stable")


def build_pairs(dataset_dir: str | Path, max_per_category: int) -> list[EvalPair]:
    """Paired and unpaired pairs for the test split of the dataset in `dataset_dir`."""
    directory = Path(dataset_dir)
    rows = test_rows(read_manifest(directory))
    pairs: list[EvalPair] = []
    for category in CATEGORIES:
        cat = rows[rows["category"] == category].head(max_per_category).to_dict("records")
        for i, person in enumerate(cat):
            partners = [("paired", person)]
            if len(cat) > 1:
                partners.append(("unpaired", cat[(i + 1) % len(cat)]))
            for kind, garment in partners:
                pairs.append(
                    EvalPair(
                        kind=kind,
                        category=category,
                        person_id=str(person["sample_id"]),
                        garment_id=str(garment["sample_id"]),
                        person=resolve_path(directory, person["person_path"]),
                        garment=resolve_path(directory, garment["garment_path"]),
                        agnostic_mask=resolve_path(directory, person["agnostic_mask_path"]),
                        garment_cloth_mask=_path(directory, garment.get("cloth_mask_path")),
                        own_garment=resolve_path(directory, person["garment_path"]),
                        own_cloth_mask=_path(directory, person.get("cloth_mask_path")),
                        torso_length=_num(person.get("torso_length")),
                        own_width_ratio=_num(person.get("garment_to_body_width_ratio")),
                        own_length_ratio=_num(person.get("garment_to_body_length_ratio")),
                        new_width_ratio=_num(garment.get("garment_to_body_width_ratio")),
                        new_length_ratio=_num(garment.get("garment_to_body_length_ratio")),
                    )
                )
    return pairs
