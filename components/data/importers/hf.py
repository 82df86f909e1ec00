"""A Hugging Face dataset with the `SaffalPoosh/deepFashion-with-masks` schema (`image`, `cloth`, `mask`, `caption`).

Read from the Hub when online (cached by `datasets`), or from local Parquet / Arrow files or a
`save_to_disk` folder offline. The category comes from the source spec, else from caption keywords.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

from components.data.importers.candidate import Candidate
from components.errors import DataContractError

REQUIRED_COLUMNS = ("image", "cloth")
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


def load_hf_dataset(path: str, split: str):
    """A `datasets.Dataset` from local files or the Hub, with a plain message when it cannot be had offline."""
    import datasets

    local = Path(path)
    try:
        if local.is_dir() and (local / "dataset_info.json").is_file() and (local / "state.json").is_file():
            return datasets.load_from_disk(str(local))
        if local.exists():
            files = [local] if local.is_file() else sorted(local.rglob("*.parquet")) or sorted(local.rglob("*.arrow"))
            if not files:
                raise DataContractError(f"{local}: no .parquet or .arrow files", hint="export the dataset to Parquet")
            builder = "arrow" if files[0].suffix == ".arrow" else "parquet"
            return datasets.load_dataset(builder, data_files=[str(f) for f in files], split="train")
        return datasets.load_dataset(path, split=split)
    except DataContractError:
        raise
    except Exception as exc:  # noqa: BLE001 - datasets raises many types for "not reachable, not cached"
        raise DataContractError(
            f"Hugging Face dataset {path!r} could not be loaded: {type(exc).__name__}: {str(exc)[:300]}",
            hint=(
                "offline and not in the local cache? On a connected machine run "
                f"`python -c \"import datasets; datasets.load_dataset('{path}', split='{split}')"
                ".to_parquet('deepfashion.parquet')\"` and point the source's path at that file"
            ),
        ) from None


def read_hf(path: str, name: str, licence: str, split: str, category: str | None) -> Iterator[Candidate]:
    """Candidates from each row; rows without a readable image or a known category are quarantined."""
    ds = load_hf_dataset(path, split)
    missing = [c for c in REQUIRED_COLUMNS if c not in ds.column_names]
    if missing:
        raise DataContractError(
            f"dataset {path!r}: missing columns {missing} (has {ds.column_names})",
            hint="expected the SaffalPoosh/deepFashion-with-masks schema: image, cloth, mask, caption",
        )
    import datasets

    # Keep images undecoded: ingest decodes them with the same checks as files, so bad bytes quarantine.
    for col in REQUIRED_COLUMNS:
        if isinstance(ds.features[col], datasets.Image):
            ds = ds.cast_column(col, datasets.Image(decode=False))
    for index, row in enumerate(ds):
        caption = row.get("caption")
        cat = category or category_from_caption(caption)
        yield Candidate(
            person=_image_bytes(row["image"]),
            garment=_image_bytes(row["cloth"]),
            category=cat,
            split=None,
            source=name,
            licence=licence,
            source_url=f"hf://datasets/{path}#{split}[{index}]" if not Path(path).exists() else f"{path}#{index}",
            caption=caption,
            origin=f"row {index}",
            reason=None if cat else f"row {index}: no category in the source spec and none in the caption",
        )


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
