"""The VITON-HD layout: `{train,test}/{image,cloth,cloth-mask,...}` with pair lists at the root.

    <root>/train_pairs.txt            "<person> <cloth>", the person's own cloth
    <root>/test_pairs.txt             "<person> <cloth>" as published: an unpaired list (another person's cloth)
    <root>/test_pairs_paired.txt      optional: "<person> <own cloth>" (what `vton export` writes beside it)
    <root>/test_pairs_unpaired.txt    optional: the unpaired list under the DressCode name (wins over test_pairs.txt)

VITON-HD holds tops only. Each person is imported with their own garment (the file of the same name in
`cloth/`), which is the ground truth evaluation needs; the unpaired cloth of a test person is recorded as
`unpaired_garment_sha256`, and evaluate pairs the person with the sample that wears it.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

from components.data.importers.candidate import Candidate
from components.data.importers.dresscode import file_sha256
from components.errors import DataContractError

# In reading order: a person listed twice keeps the first line as its origin.
LISTS = (("train", "train_pairs.txt"), ("test", "test_pairs.txt"), ("test", "test_pairs_paired.txt"),
         ("test", "test_pairs_unpaired.txt"))
UNPAIRED_LISTS = ("test_pairs_unpaired.txt", "test_pairs.txt")  # the first that names a person decides


def _lines(path: Path) -> Iterator[tuple[int, str, list[str]]]:
    for line_no, text in enumerate(path.read_text().splitlines(), start=1):
        if parts := text.split():
            yield line_no, text, parts


def read_viton_hd(root: Path, name: str, licence: str) -> Iterator[Candidate]:
    """Candidates from each split's pairs file; missing images are quarantined by ingest, not skipped."""
    present = [(split, root / filename) for split, filename in LISTS if (root / filename).is_file()]
    if not present:
        raise DataContractError(
            f"{root}: no train_pairs.txt or test_pairs.txt", hint="point the source at the VITON-HD root folder"
        )
    unpaired: dict[str, str] = {}
    for filename in reversed(UNPAIRED_LISTS):  # the preferred list read last overwrites
        if (root / filename).is_file():
            for _, _, parts in _lines(root / filename):
                if len(parts) >= 2 and parts[1] != parts[0]:
                    unpaired[parts[0]] = parts[1]
    seen: set[tuple[str, str]] = set()
    for split, pairs in present:
        for line_no, text, parts in _lines(pairs):
            origin = f"{pairs.name} line {line_no}"
            if len(parts) < 2:
                yield Candidate(None, None, "upper_body", name, licence, split, origin=origin,
                                reason=f"{origin}: expected '<person> <cloth>', got {text!r}")
                continue
            person, cloth = parts[0], parts[1]
            if (split, person) in seen:
                continue
            seen.add((split, person))
            clothes = root / split / "cloth"
            own = clothes / person
            partner = unpaired.get(person) if split == "test" else None
            yield Candidate(
                person=root / split / "image" / person,
                garment=own if own.is_file() else clothes / cloth,
                category="upper_body",
                split=split,
                source=name,
                licence=licence,
                origin=f"{origin} ({person})",
                unpaired_garment_sha256=file_sha256(clothes / partner) if partner and own.is_file() else None,
            )
