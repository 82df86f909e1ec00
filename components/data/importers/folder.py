"""A plain folder of person and garment images with a `pairs.csv` file.

    <root>/pairs.csv   columns: person, garment, category[, split][, source_url][, licence]
                       [, source][, source_image_url][, fetched_at]   (provenance, e.g. from `vton data scrape`)
                       [, pairing]   paired (the person wears the garment) | unpaired (a try-on request:
                                     evaluated without ground truth, never trained on); empty: paired
                       [, gender]    the person's gender as the source spells it; empty: unknown (null)
                       [, cloth_mask]  the garment's cloth mask (same size as the garment, >= 128 is garment):
                                     imported beside it and used by annotate instead of deriving one
    paths in pairs.csv are relative to <root>
"""

from __future__ import annotations

import csv
from collections.abc import Iterator
from pathlib import Path

from components.data.importers.candidate import Candidate
from components.errors import DataContractError
from components.manifest.schema import UNPAIRED

PAIRS_FILE = "pairs.csv"
REQUIRED_COLUMNS = ("person", "garment", "category")


def read_folder(root: Path, name: str, licence: str) -> Iterator[Candidate]:
    """Candidates listed in `<root>/pairs.csv`; a malformed pairs file is a clear error, a bad row a quarantine."""
    pairs = root / PAIRS_FILE
    if not pairs.is_file():
        raise DataContractError(
            f"{pairs}: pairs file not found",
            hint=f"add {PAIRS_FILE} with columns person,garment,category[,split,source_url,licence]",
        )
    with pairs.open(newline="") as fh:
        reader = csv.DictReader(fh)
        missing = [c for c in REQUIRED_COLUMNS if c not in (reader.fieldnames or [])]
        if missing:
            raise DataContractError(
                f"{pairs}: missing columns {missing}", hint=f"the header must include {list(REQUIRED_COLUMNS)}"
            )
        for line_no, row in enumerate(reader, start=2):
            origin = f"{pairs.name} line {line_no}"
            person = (row.get("person") or "").strip()
            garment = (row.get("garment") or "").strip()
            mask = (row.get("cloth_mask") or "").strip()
            reason = None
            pairing = (row.get("pairing") or "").strip() or None
            if pairing not in (None, "paired", UNPAIRED):
                reason = f"{origin}: pairing {pairing!r} is not paired or unpaired"
            elif not person or not garment:
                reason = f"{origin}: empty person or garment path"
            elif _escapes(root, person) or _escapes(root, garment) or (mask and _escapes(root, mask)):
                reason = f"{origin}: path leaves the source folder"
            yield Candidate(
                person=None if reason else root / person,
                garment=None if reason else root / garment,
                category=(row.get("category") or "").strip() or None,
                split=(row.get("split") or "").strip() or None,
                source=(row.get("source") or "").strip() or name,
                source_url=(row.get("source_url") or "").strip() or None,
                source_image_url=(row.get("source_image_url") or "").strip() or None,
                fetched_at=(row.get("fetched_at") or "").strip() or None,
                licence=(row.get("licence") or "").strip() or licence,
                origin=f"{origin} ({person})",
                reason=reason,
                pairing=pairing,
                gender=(row.get("gender") or "").strip() or None,
                cloth_mask=root / mask if mask and not reason else None,
            )


def _escapes(root: Path, relative: str) -> bool:
    target = (root / relative).resolve()
    return not target.is_relative_to(root.resolve())
