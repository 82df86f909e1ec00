"""The DressCode layout: `{upper_body,lower_body,dresses}/images/<id>_0.jpg` (person) and `<id>_1.jpg` (garment).

Pair lists are read per category (`<category>/train_pairs.txt`, `test_pairs_paired.txt`) or from the
root (`train_pairs.txt`, `test_pairs_paired.txt`, whose optional third column is the category index).
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

from components.data.importers.candidate import Candidate
from components.errors import DataContractError
from components.manifest.schema import CATEGORIES

PAIR_FILES = {"train": "train_pairs.txt", "test": "test_pairs_paired.txt"}
CATEGORY_INDEX = {"0": "upper_body", "1": "lower_body", "2": "dresses"}


def _pair_lines(path: Path) -> Iterator[tuple[int, list[str]]]:
    for line_no, line in enumerate(path.read_text().splitlines(), start=1):
        if parts := line.split():
            yield line_no, parts


def read_dresscode(root: Path, name: str, licence: str) -> Iterator[Candidate]:
    """Candidates from DressCode pair lists; a pair whose files are absent is quarantined by ingest."""
    seen: set[tuple[str, str, str]] = set()
    any_list = False
    for split, filename in PAIR_FILES.items():
        lists = [(root / c / filename, c) for c in CATEGORIES] + [(root / filename, None)]
        for path, fixed_category in lists:
            if not path.is_file():
                continue
            any_list = True
            for line_no, parts in _pair_lines(path):
                origin = f"{path.relative_to(root)} line {line_no}"
                category = fixed_category or (CATEGORY_INDEX.get(parts[2]) if len(parts) > 2 else None)
                if len(parts) < 2 or category is None:
                    yield Candidate(None, None, category or "upper_body", name, licence, split, origin=origin,
                                    reason=f"{origin}: expected '<person> <garment> [category 0|1|2]'")
                    continue
                key = (category, parts[0], parts[1])
                if key in seen:
                    continue
                seen.add(key)
                images = root / category / "images"
                yield Candidate(
                    person=images / parts[0],
                    garment=images / parts[1],
                    category=category,
                    split=split,
                    source=name,
                    licence=licence,
                    origin=f"{origin} ({parts[0]})",
                )
    if not any_list:
        raise DataContractError(
            f"{root}: no DressCode pair lists found",
            hint="expected <category>/train_pairs.txt or train_pairs.txt at the DressCode root",
        )
