"""The evaluation pairs: test-split samples paired with their own garment and with another of their category.

Deterministic: persons are taken in sample-id order (at most `max_per_category` per category). The unpaired
garment of a person is the one a published unpaired list gave it (manifest `unpaired_garment_sha256`: the
sample of that category whose garment has those bytes), else the next person's garment in that order
(wrapping round), so every run, champion and challenger alike, sees exactly the same pairs.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from components.manifest.schema import CATEGORIES, garment_worn, read_manifest, resolve_path


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
    own_garment: Path | None  # the garment the person wears in the photo; None: an unpaired row (not shown)
    own_cloth_mask: Path | None
    torso_length: float | None
    own_width_ratio: float | None
    own_length_ratio: float | None
    new_width_ratio: float | None
    new_length_ratio: float | None
    keypoints: Path | None = None  # the person's BODY_25 JSON (annotate), to measure fit against their body
    # The fit the pair asks for (components/fit ratios: width, length, span; NaN unknown): paired, the person's
    # own worn fit; unpaired, the garment's as worn in its own photo. Size-aware generators are asked for it.
    requested_ratios: tuple[float, float, float] | None = None
    published: bool = False  # an unpaired pair taken from a published list (not formed by the rule)
    published_unusable: bool = False  # formed by the rule because no usable sample holds the published garment

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


def _fit_ratios(row: dict) -> tuple[float, float, float] | None:
    """A row's worn fit ratios (the manifest's fit_* columns), None when its width ratio is unknown."""
    values = tuple(_num(row.get(c)) for c in ("fit_width_ratio", "fit_length_ratio", "fit_span_ratio"))
    if values[0] is None:
        return None
    return tuple(math.nan if v is None else v for v in values)  # type: ignore[return-value]


def _path(directory: Path, value: object) -> Path | None:
    return resolve_path(directory, str(value)) if isinstance(value, str) and value else None


def test_rows(manifest: pd.DataFrame) -> pd.DataFrame:
    """The usable test samples: split test, status ok, with an agnostic mask, originals only (no augmented copies)."""
    rows = manifest[(manifest["split"] == "test") & (manifest["status"] == "ok")]
    rows = rows[rows["agnostic_mask_path"].notna() & rows["parent_id"].isna()]
    return rows.sort_values("sample_id", kind="stable")


def unpaired_partners(persons: pd.DataFrame, garments: pd.DataFrame) -> dict[str, tuple[str, bool]]:
    """{person id: (garment sample id, published)} for the persons of one category, in their order.

    A person's published garment is looked up among `garments` (that category's usable test samples, in
    sample-id order); without one, when it is the person's own garment (by sha256), or when no usable sample
    holds it, the next person's garment is taken: the next whose garment differs from the person's own (two
    shots of one person wearing one garment make no unpaired pair). A lone person, or one whom every other person's garment matches, gets none.
    """
    by_sha: dict[str, str] = {}
    for sid, sha in zip(garments["sample_id"], garments["garment_sha256"]):
        if isinstance(sha, str):
            by_sha.setdefault(sha, str(sid))
    ids = [str(s) for s in persons["sample_id"]]
    refs = persons["unpaired_garment_sha256"] if "unpaired_garment_sha256" in persons else [None] * len(ids)
    own = list(persons["garment_sha256"]) if "garment_sha256" in persons else [None] * len(ids)
    out: dict[str, tuple[str, bool]] = {}
    for i, (sid, ref) in enumerate(zip(ids, refs)):
        # A list naming the person's own garment (by its bytes: their other shot's row holds the same sha) names
        # no unpaired pair, so the rule forms one.
        usable = isinstance(ref, str) and not (isinstance(own[i], str) and ref == own[i])
        published = by_sha.get(ref) if usable else None
        if published is not None:
            out[sid] = (published, True)
            continue
        for step in range(1, len(ids)):
            j = (i + step) % len(ids)
            if not (isinstance(own[i], str) and own[j] == own[i]):
                out[sid] = (ids[j], False)
                break
    return out


def build_pairs(dataset_dir: str | Path, max_per_category: int) -> list[EvalPair]:
    """Paired and unpaired pairs for the test split of the dataset in `dataset_dir`."""
    directory = Path(dataset_dir)
    rows = test_rows(read_manifest(directory))
    pairs: list[EvalPair] = []
    for category in CATEGORIES:
        in_category = rows[rows["category"] == category]
        chosen = in_category.head(max_per_category)
        worn = chosen[chosen["pairing"].map(garment_worn).astype(bool)]
        partners = unpaired_partners(worn, in_category)
        records = {str(r["sample_id"]): r for r in in_category.to_dict("records")}
        for person in chosen.to_dict("records"):
            pid = str(person["sample_id"])
            if not garment_worn(person.get("pairing")):
                # A try-on request: the photo does not show this garment, so the row is its own unpaired pair
                # (no ground truth), never a paired one.
                pairs.append(_pair(directory, "unpaired", category, person, person, False, False, worn=False))
                continue
            partner = [("unpaired", records[partners[pid][0]], partners[pid][1])] if pid in partners else []
            ref = person.get("unpaired_garment_sha256")
            named = isinstance(ref, str) and ref != person.get("garment_sha256")
            for kind, garment, published in [("paired", person, False), *partner]:
                pairs.append(_pair(directory, kind, category, person, garment, published,
                                   kind == "unpaired" and named and not published))
    return pairs


def _pair(directory: Path, kind: str, category: str, person: dict, garment: dict, published: bool,
          published_unusable: bool, worn: bool = True) -> EvalPair:
    """The EvalPair of `person` trying on `garment`'s garment; without `worn`, the person's own garment is unknown."""
    return EvalPair(
        kind=kind,
        category=category,
        person_id=str(person["sample_id"]),
        garment_id=str(garment["sample_id"]),
        person=resolve_path(directory, person["person_path"]),
        garment=resolve_path(directory, garment["garment_path"]),
        agnostic_mask=resolve_path(directory, person["agnostic_mask_path"]),
        garment_cloth_mask=_path(directory, garment.get("cloth_mask_path")),
        own_garment=resolve_path(directory, person["garment_path"]) if worn else None,
        own_cloth_mask=_path(directory, person.get("cloth_mask_path")) if worn else None,
        torso_length=_num(person.get("torso_length")),
        own_width_ratio=_num(person.get("garment_to_body_width_ratio")) if worn else None,
        own_length_ratio=_num(person.get("garment_to_body_length_ratio")) if worn else None,
        new_width_ratio=_num(garment.get("garment_to_body_width_ratio")),
        new_length_ratio=_num(garment.get("garment_to_body_length_ratio")),
        keypoints=_path(directory, person.get("keypoints_path")),
        # Only a photo that shows the garment says how it is worn (a try-on request row's ratios are of another).
        requested_ratios=_fit_ratios(garment) if worn and garment_worn(garment.get("pairing")) else None,
        published=published,
        published_unusable=published_unusable,
    )


def pairing_notes(pairs: list[EvalPair]) -> list[str]:
    """One line saying where the unpaired pairs came from, for the evaluation report."""
    unpaired = [p for p in pairs if p.kind == "unpaired"]
    published = sum(p.published for p in unpaired)
    unusable = sum(p.published_unusable for p in unpaired)
    if not published and not unusable:
        return []
    note = (f"unpaired pairs: {published} of {len(unpaired)} from the published unpaired lists, "
            f"{len(unpaired) - published} formed by the next-person rule")
    return [note + (f" ({unusable} of them because no usable test sample holds the published garment)"
                    if unusable else "")]
