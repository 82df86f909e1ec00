"""The VITON-HD layout: `{train,test}/{image,cloth,...}` with `train_pairs.txt` / `test_pairs.txt`.

VITON-HD holds tops only. Each person is imported with their own garment (the file of the same name
in `cloth/`), which is the ground truth evaluation needs; unpaired test pairs are formed at evaluation.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

from components.data.importers.candidate import Candidate
from components.errors import DataContractError


def read_viton_hd(root: Path, name: str, licence: str) -> Iterator[Candidate]:
    """Candidates from each split's pairs file; missing images are quarantined by ingest, not skipped."""
    found = False
    for split in ("train", "test"):
        pairs = root / f"{split}_pairs.txt"
        if not pairs.is_file():
            continue
        found = True
        for line_no, line in enumerate(pairs.read_text().splitlines(), start=1):
            parts = line.split()
            if not parts:
                continue
            origin = f"{pairs.name} line {line_no}"
            if len(parts) < 2:
                yield Candidate(None, None, "upper_body", name, licence, split, origin=origin,
                                reason=f"{origin}: expected '<person> <cloth>', got {line!r}")
                continue
            person, cloth = parts[0], parts[1]
            own = root / split / "cloth" / person
            garment = own if own.is_file() else root / split / "cloth" / cloth
            yield Candidate(
                person=root / split / "image" / person,
                garment=garment,
                category="upper_body",
                split=split,
                source=name,
                licence=licence,
                origin=f"{origin} ({person})",
            )
    if not found:
        raise DataContractError(
            f"{root}: no train_pairs.txt or test_pairs.txt", hint="point the source at the VITON-HD root folder"
        )
