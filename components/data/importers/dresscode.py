"""The DressCode layout: `{upper_body,lower_body,dresses}/images/<id>_0.jpg` (person) and `<id>_1.jpg` (garment).

    <root>/<category>/train_pairs.txt           "<id>_0.jpg <id>_1.jpg"            (per category)
    <root>/<category>/test_pairs_paired.txt     "<id>_0.jpg <id>_1.jpg"
    <root>/<category>/test_pairs_unpaired.txt   "<id>_0.jpg <other id>_1.jpg"
    <root>/{train_pairs,test_pairs_paired,test_pairs_unpaired}.txt   the same with a third column, the category:
                                                `upper_body|lower_body|dresses` or its index `0|1|2`

Each person is imported with the garment of its paired line (the ground truth); the unpaired lists say which
other garment evaluate pairs the person with (manifest `unpaired_garment_sha256`).
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from components.manifest.image_io import sha256_bytes
from components.data.importers.candidate import Candidate
from components.errors import DataContractError
from components.manifest.schema import CATEGORIES

TRAIN_LIST, PAIRED_LIST, UNPAIRED_LIST = "train_pairs.txt", "test_pairs_paired.txt", "test_pairs_unpaired.txt"
LISTS = {TRAIN_LIST: "train", PAIRED_LIST: "test", UNPAIRED_LIST: "test"}
CATEGORY_INDEX = {"0": "upper_body", "1": "lower_body", "2": "dresses"}
EXPECTED = "expected '<person> <garment>' (root lists: '<person> <garment> <upper_body|lower_body|dresses|0|1|2>')"


@dataclass(frozen=True)
class PairLine:
    """One usable line of a DressCode pair list."""

    list_name: str
    category: str
    person: str
    garment: str
    origin: str


def category_of(column: str) -> str | None:
    """The category a root list's third column names (`dresses` or its index `2`), or None."""
    return column if column in CATEGORIES else CATEGORY_INDEX.get(column)


def file_sha256(path: Path) -> str | None:
    """sha256 of a file's bytes, or None when it cannot be read (its own sample is quarantined by ingest)."""
    try:
        return sha256_bytes(path.read_bytes())
    except OSError:
        return None


def _find_category(root: Path, person: str) -> str | None:
    """The one category folder whose images/ holds `person` (a root list line without a category column)."""
    found = [c for c in CATEGORIES if (root / c / "images" / person).is_file()]
    return found[0] if len(found) == 1 else None


def _read_lists(root: Path, name: str, licence: str) -> tuple[list[PairLine], list[Candidate], bool]:
    """(usable lines, quarantine candidates for malformed lines, whether any list exists)."""
    lines: list[PairLine] = []
    bad: list[Candidate] = []
    any_list = False
    for list_name, split in LISTS.items():
        for path, fixed in [(root / c / list_name, c) for c in CATEGORIES] + [(root / list_name, None)]:
            if not path.is_file():
                continue
            any_list = True
            for line_no, text in enumerate(path.read_text().splitlines(), start=1):
                parts = text.split()
                if not parts:
                    continue
                origin = f"{path.relative_to(root).as_posix()} line {line_no}"
                category = fixed
                if fixed is None and len(parts) > 2:
                    category = category_of(parts[2])
                elif fixed is None and len(parts) == 2:
                    category = _find_category(root, parts[0])
                if len(parts) < 2 or category is None:
                    bad.append(Candidate(None, None, category or "upper_body", name, licence, split, origin=origin,
                                         reason=f"{origin}: {EXPECTED}, got {text.strip()!r}"))
                    continue
                lines.append(PairLine(list_name, category, parts[0], parts[1], origin))
    return lines, bad, any_list


def own_garment(person: str) -> str | None:
    """DressCode's name for a person's own garment: `<id>_0.jpg` -> `<id>_1.jpg`."""
    stem, dot, ext = person.rpartition(".")
    return f"{stem[:-2]}_1.{ext}" if dot and stem.endswith("_0") else None


def read_dresscode(root: Path, name: str, licence: str) -> Iterator[Candidate]:
    """Candidates from DressCode pair lists; a pair whose files are absent is quarantined by ingest."""
    lines, bad, any_list = _read_lists(root, name, licence)
    if not any_list:
        raise DataContractError(
            f"{root}: no DressCode pair lists found",
            hint=f"expected <category>/{TRAIN_LIST} (and {PAIRED_LIST}, {UNPAIRED_LIST}) or the same at the root",
        )
    yield from bad
    unpaired: dict[tuple[str, str], PairLine] = {}
    for line in lines:
        if line.list_name == UNPAIRED_LIST:
            unpaired.setdefault((line.category, line.person), line)
    # A person only the unpaired list names is still a test sample, with their own garment by DressCode's naming.
    paired = [ln for ln in lines if ln.list_name != UNPAIRED_LIST]
    listed = {(ln.category, ln.person) for ln in paired if ln.list_name == PAIRED_LIST}
    for key, line in unpaired.items():
        if key not in listed:
            paired.append(PairLine(PAIRED_LIST, line.category, line.person, own_garment(line.person) or "",
                                   line.origin))
    seen: set[tuple[str, str, str]] = set()
    for line in paired:
        key = (line.category, line.person, line.garment)
        if key in seen:
            continue
        seen.add(key)
        split = LISTS[line.list_name]
        images = root / line.category / "images"
        partner = unpaired.get((line.category, line.person)) if split == "test" else None
        if not line.garment:
            yield Candidate(images / line.person, None, line.category, name, licence, split, origin=line.origin,
                            reason=f"{line.origin}: no paired garment for {line.person} (expected <id>_0.jpg)")
            continue
        yield Candidate(
            person=images / line.person,
            garment=images / line.garment,
            category=line.category,
            split=split,
            source=name,
            licence=licence,
            origin=f"{line.origin} ({line.person})",
            unpaired_garment_sha256=file_sha256(images / partner.garment) if partner else None,
        )
