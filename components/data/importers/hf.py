"""A Hugging Face dataset as candidate pairs, from the hub or local Parquet / Arrow / `save_to_disk` files.

Layouts, detected from the columns unless the source names them (`hf_columns`):

- `deepfashion`: `SaffalPoosh/deepFashion-with-masks` as published (`images`, `mask`, `cloth_type`, `pid`,
  `pose`, `caption`): the category comes from `cloth_type` (the caption decides Denim and Suiting), the garment
  is cut from a photo of the same `pid` with its mask, and a pid's views are paired across (deepfashion.py).
- `image_cloth`: the older layout with a person `image` and a garment `cloth` per row.
- `mapped`: any other dataset, with `hf_columns` naming its person, garment or mask, caption, category, group
  and view columns.

Rows stream in batches (hf_rows.py); rows of one group are held until the group's last row has been read,
then spilled to disk past a bound, so memory stays flat with the row count.
"""

from __future__ import annotations

import hashlib
import pickle
import re
import tempfile
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from components.data.importers.candidate import Candidate, GarmentCut
from components.data.importers.deepfashion import (
    VIEWS_WITHOUT_PERSON,
    View,
    category_for_class,
    garment_source_for,
    view_name,
)
from components.data.importers.garment_cut import (
    DEEPFASHION_LABELS,
    checked_region,
    decode_mask,
    parse_label,
)
from components.data.importers.hf_rows import BATCH_ROWS, open_rows
from components.data.params import HfColumns
from components.errors import DataContractError, Quarantine
from components.manifest.schema import CATEGORIES

DEEPFASHION_COLUMNS = HfColumns(person="images", mask="mask", caption="caption", category="cloth_type",
                                group="pid", view="pose", gender="gender")
IMAGE_CLOTH_COLUMNS = HfColumns(person="image", garment="cloth", caption="caption", gender="gender")
CUT_VERSION = 1  # bump when garment_cut's rule changes, so cached cuts are never reused
MAX_HELD_IN_MEMORY = 64  # rows of unfinished groups kept in memory (about 16 MB); more go to a temporary folder

_CATEGORY_WORDS = (
    ("dresses", re.compile(r"\b(dress|dresses|gown|jumpsuit|romper)\b", re.I)),
    ("lower_body", re.compile(r"\b(trousers|pants|jeans|shorts|skirt|leggings|joggers|chinos)\b", re.I)),
    ("upper_body", re.compile(r"\b(shirt|t-shirt|tee|top|blouse|sweater|jumper|hoodie|jacket|coat|tank|cardigan|vest)\b", re.I)),
)


def category_from_caption(caption: str | None) -> str | None:
    """The garment category a caption names (dresses before lower before upper body), or None."""
    if not caption:
        return None
    for category, pattern in _CATEGORY_WORDS:
        if pattern.search(caption):
            return category
    return None


def detect_columns(names: list[str], spec: HfColumns | None, path: str) -> tuple[str, HfColumns]:
    """(layout name, column mapping) for a dataset with columns `names`; optional columns it lacks become None."""
    if spec is not None:
        named = {k: v for k, v in spec.model_dump().items() if v is not None}
        missing = sorted(v for v in named.values() if v not in names)
        if missing:
            raise DataContractError(
                f"dataset {path!r}: hf_columns names columns {missing} it does not have (has {names})",
                hint="fix import.sources[].hf_columns to the dataset's column names",
            )
        layout, columns = "mapped", spec
    elif {"images", "mask", "cloth_type", "pid"} <= set(names):
        layout, columns = "deepfashion", DEEPFASHION_COLUMNS
    elif {"image", "cloth"} <= set(names):
        layout, columns = "image_cloth", IMAGE_CLOTH_COLUMNS
    else:
        raise DataContractError(
            f"dataset {path!r}: unknown layout, missing columns ['image', 'cloth'] or "
            f"['images', 'mask', 'cloth_type', 'pid'] (has {names})",
            hint="name its columns in the source's hf_columns: {person: ..., garment: ... or mask: ..., caption: ..., "
                 "category: ..., group: ..., view: ...}",
        )
    present = {k: (v if v in names else None) for k, v in columns.model_dump().items()}
    if not (present["garment"] or present["mask"]):
        raise DataContractError(
            f"dataset {path!r}: no garment image and no mask to cut one with (hf_columns {columns.model_dump()})",
            hint="name a garment column, or a mask column to cut the garment from the person photo",
        )
    return layout, HfColumns(**present)


def _image_bytes(value) -> bytes | None:  # noqa: ANN001 - a datasets Image cell: dict, bytes or PIL
    if value is None:
        return None
    if isinstance(value, dict):
        if value.get("bytes") is not None:
            return value["bytes"]
        if value.get("path"):
            p = Path(value["path"])
            return p.read_bytes() if p.is_file() else None
        return None
    if isinstance(value, (bytes, bytearray)):
        return bytes(value)
    import io

    buf = io.BytesIO()
    value.save(buf, format="PNG")
    return buf.getvalue()


def _text(value) -> str | None:  # noqa: ANN001 - a string, number or null cell
    return None if value is None else str(value)


@dataclass
class _Row:
    """One row read and checked: what pairing and the candidates need, images still undecoded."""

    index: int
    photo: bytes | None
    category: str | None
    view: View
    group: str | None
    source_class: str | None
    caption: str | None
    url: str
    gender: str | None = None
    region: np.ndarray | None = None  # the garment's pixels (np.packbits), when the mask gave a usable garment
    shape: tuple[int, int] = (0, 0)  # of the mask the region came from
    photo_sha: str = ""
    mask_sha: str = ""
    reason: str | None = None


class _HeldRows:
    """Rows of groups not yet complete: in memory up to MAX_HELD_IN_MEMORY, then pickled to a temporary folder."""

    def __init__(self) -> None:
        self.memory: dict[int, _Row] = {}
        self.spilled: dict[int, Path] = {}
        self._dir: tempfile.TemporaryDirectory | None = None

    def put(self, row: _Row) -> None:
        if len(self.memory) < MAX_HELD_IN_MEMORY:
            self.memory[row.index] = row
            return
        if self._dir is None:
            self._dir = tempfile.TemporaryDirectory(prefix="vton-hf-rows-")
        path = Path(self._dir.name) / f"{row.index}.pkl"
        path.write_bytes(pickle.dumps(row, protocol=pickle.HIGHEST_PROTOCOL))
        self.spilled[row.index] = path

    def pop(self, index: int) -> _Row:
        if index in self.memory:
            return self.memory.pop(index)
        path = self.spilled.pop(index)
        row = pickle.loads(path.read_bytes())
        path.unlink()
        return row

    def close(self) -> None:
        if self._dir is not None:
            self._dir.cleanup()


@dataclass(frozen=True)
class _Reading:
    """What every row of one source is read with."""

    path: str
    split: str
    name: str
    licence: str
    fixed_category: str | None
    cols: HfColumns
    labels: dict[str, tuple[int, ...]]
    local: bool

    def url(self, index: int) -> str:
        """Where row `index` came from, for the manifest's provenance columns."""
        return f"{self.path}#{index}" if self.local else f"hf://datasets/{self.path}#{self.split}[{index}]"

    def text(self, row: dict, column: str | None) -> str | None:
        """A text cell of `row`, or None when the column is not mapped."""
        return _text(row.get(column)) if column else None


def read_hf(
    path: str,
    name: str,
    licence: str,
    split: str,
    category: str | None,
    columns: HfColumns | None = None,
    mask_labels: dict[str, list[int | str]] | None = None,
    batch_size: int = BATCH_ROWS,
) -> Iterator[Candidate]:
    """Candidates from each row, streamed; unusable rows come out as candidates with the reason set."""
    rows = open_rows(path, split)
    _, cols = detect_columns(rows.column_names, columns, path)
    try:
        labels = {c: tuple(parse_label(v) for v in (mask_labels or {}).get(c, DEEPFASHION_LABELS[c]))
                  for c in CATEGORIES}
    except ValueError as exc:
        raise DataContractError(f"source {name!r}: hf_mask_labels: {exc}",
                                hint="give each category's labels as integers or '#rrggbb' colours") from None
    reading = _Reading(path, split, name, licence, category, cols, labels, Path(path).exists())
    wanted = [c for c in cols.model_dump().values() if c is not None]
    if cols.garment:
        yield from _paired_rows(rows.batches(wanted, batch_size), reading)
        return
    # A first pass over the group column alone (a few bytes a row) tells when each group's last row is read.
    sizes = Counter(_text(r[cols.group]) for b in rows.batches([cols.group], 4096) for r in b) if cols.group else None
    yield from _cut_rows(rows.batches(wanted, batch_size), sizes, reading)


def _row_category(row: dict, rd: _Reading) -> tuple[str | None, str | None, str | None]:
    """(category, the source's raw class, reason when there is none) for one row."""
    raw = rd.text(row, rd.cols.category)
    if rd.fixed_category:
        return rd.fixed_category, raw, None
    caption = rd.text(row, rd.cols.caption)
    if rd.cols.category:
        if raw in CATEGORIES:
            return raw, raw, None
        found = category_for_class(raw, caption)
        if found is None:
            return None, raw, f"unknown garment class {raw!r} in column {rd.cols.category!r}"
        return found, raw, None
    found = category_from_caption(caption)
    return found, None, None if found else "no category in the source spec and none in the caption"


def _paired_rows(batches: Iterator[list[dict]], rd: _Reading) -> Iterator[Candidate]:
    """Rows that carry their own garment image (the image/cloth layout, or a mapped garment column)."""
    index = -1
    for batch in batches:
        for row in batch:
            index += 1
            cat, raw, reason = _row_category(row, rd)
            group = rd.text(row, rd.cols.group)
            yield Candidate(
                person=_image_bytes(row[rd.cols.person]),
                garment=_image_bytes(row[rd.cols.garment]),
                category=cat,
                source=rd.name,
                licence=rd.licence,
                source_url=rd.url(index),
                caption=rd.text(row, rd.cols.caption),
                origin=f"row {index}",
                reason=f"row {index}: {reason}" if reason else None,
                split_key=f"{rd.name}:{group}" if group else None,
                item_id=group,
                person_view=rd.text(row, rd.cols.view),
                source_class=raw,
                gender=rd.text(row, rd.cols.gender),
            )


def _read_row(index: int, row: dict, rd: _Reading) -> _Row:
    """One row with its category decided and its mask turned into the garment's region (or the reason why not)."""
    cat, raw, reason = _row_category(row, rd)
    photo = _image_bytes(row[rd.cols.person])
    pose = rd.text(row, rd.cols.view)
    out = _Row(index, photo, cat, View(index, pose, cat or "upper_body", usable_garment=False),
               rd.text(row, rd.cols.group), raw, rd.text(row, rd.cols.caption), rd.url(index),
               gender=rd.text(row, rd.cols.gender), reason=reason)
    if reason:
        return out
    mask_bytes = _image_bytes(row.get(rd.cols.mask))
    try:
        region = checked_region(decode_mask(mask_bytes, rd.cols.mask), rd.labels[cat], cat, rd.cols.mask)
    except Quarantine as q:
        out.reason = q.reason
        return out
    if photo is None:
        out.reason = f"person image column {rd.cols.person!r} is empty"
        return out
    out.region, out.shape = np.packbits(region), region.shape
    out.photo_sha = hashlib.sha256(photo).hexdigest()
    out.mask_sha = hashlib.sha256(mask_bytes).hexdigest()
    out.view = View(index, pose, cat, usable_garment=True)
    return out


def _cut_rows(batches: Iterator[list[dict]], sizes: Counter | None, rd: _Reading) -> Iterator[Candidate]:
    """Rows whose garment is cut from a photo: each group is paired across its views once its last row is read."""
    held, members, index = _HeldRows(), {}, -1
    try:
        for batch in batches:
            for row in batch:
                index += 1
                r = _read_row(index, row, rd)
                if sizes is None or r.group is None:
                    yield from _group_candidates([r], rd)
                    continue
                held.put(r)
                members.setdefault(r.group, []).append(index)
                if len(members[r.group]) == sizes[r.group]:
                    yield from _group_candidates([held.pop(i) for i in members.pop(r.group)], rd)
        for group in list(members):  # only when the data changed between the two passes
            yield from _group_candidates([held.pop(i) for i in members.pop(group)], rd)
    finally:
        held.close()


def _group_candidates(rows: list[_Row], rd: _Reading) -> Iterator[Candidate]:
    """One candidate per row of an item: its photo worn, its garment cut from the item's best other view."""
    views = [r.view for r in rows]
    by_row = {r.index: r for r in rows}
    for r in rows:
        origin = f"row {r.index}" + (f" (pid {r.group}, view {r.view.pose})" if r.group else "")
        base = dict(category=r.category, source=rd.name, licence=rd.licence, source_url=r.url, caption=r.caption,
                    origin=origin, split_key=f"{rd.name}:{r.group}" if r.group else None, item_id=r.group,
                    person_view=r.view.pose, source_class=r.source_class, gender=r.gender)
        if r.reason:
            yield Candidate(person=r.photo, garment=None, reason=f"{origin}: {r.reason}", **base)
            continue
        if view_name(r.view.pose) in VIEWS_WITHOUT_PERSON:
            used = "its garment is cut for the item's other views" if len(rows) > 1 else "the item has no other view"
            yield Candidate(person=r.photo, garment=None, **base,
                            reason=f"{origin}: a {view_name(r.view.pose)} view shows the garment alone, no person "
                                   f"to wear it ({used})")
            continue
        src = by_row[garment_source_for(r.view, views).row]
        key_text = f"garment-cut:v{CUT_VERSION}:{src.photo_sha}:{src.mask_sha}:{rd.labels[r.view.category]}"
        cut = GarmentCut(src.photo, src.region, src.shape, hashlib.sha256(key_text.encode()).hexdigest(),
                         f"row {src.index}")
        yield Candidate(person=r.photo, garment=cut, garment_view=src.view.pose, garment_source_url=src.url,
                        pairing="same_view" if src.index == r.index else "cross_view", **base)
