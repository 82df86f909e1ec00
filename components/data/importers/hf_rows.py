"""Rows of a Hugging Face dataset, read in batches with images left undecoded, so memory stays flat.

Local Parquet shards are read row group by row group with pyarrow (only the columns asked for); a
`save_to_disk` folder, Arrow files and hub ids go through `datasets`, whose Arrow tables are memory-mapped,
and are iterated in batches. A hub id is downloaded shard by shard into the `datasets` cache when online.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

from components.errors import DataContractError

BATCH_ROWS = 64  # rows held in memory at once by one batch


@dataclass
class ParquetRows:
    """Rows of local Parquet files, streamed batch by batch with column projection."""

    files: list[Path]
    column_names: list[str] = field(init=False)
    num_rows: int = field(init=False)

    def __post_init__(self) -> None:
        import pyarrow.parquet as pq

        first = pq.ParquetFile(self.files[0])
        self.column_names = list(first.schema_arrow.names)
        self.num_rows = sum(pq.ParquetFile(f).metadata.num_rows for f in self.files)

    def batches(self, columns: list[str], batch_size: int = BATCH_ROWS) -> Iterator[list[dict]]:
        """A generator of row batches (lists of dicts holding only `columns`), file by file, in row order."""
        import pyarrow.parquet as pq

        for path in self.files:
            shard = pq.ParquetFile(path)
            missing = [c for c in columns if c not in shard.schema_arrow.names]
            if missing:
                raise DataContractError(f"{path}: missing columns {missing}", hint="every shard needs the same columns")
            # One thread: pyarrow's read-ahead threads would hold several row groups at once for a consumer
            # that decodes images one by one anyway.
            for batch in shard.iter_batches(batch_size=batch_size, columns=columns, use_threads=False):
                yield batch.to_pylist()


@dataclass
class DatasetRows:
    """Rows of a `datasets.Dataset` (memory-mapped Arrow), iterated in batches with images undecoded."""

    dataset: object  # datasets.Dataset
    column_names: list[str] = field(init=False)
    num_rows: int = field(init=False)

    def __post_init__(self) -> None:
        import datasets

        # Keep images undecoded: ingest decodes them with the same checks as files, so bad bytes quarantine.
        for name, feature in self.dataset.features.items():
            if isinstance(feature, datasets.Image):
                self.dataset = self.dataset.cast_column(name, datasets.Image(decode=False))
        self.column_names = list(self.dataset.column_names)
        self.num_rows = len(self.dataset)

    def batches(self, columns: list[str], batch_size: int = BATCH_ROWS) -> Iterator[list[dict]]:
        """A generator of row batches (lists of dicts holding only `columns`), in row order."""
        for batch in self.dataset.select_columns(columns).iter(batch_size=batch_size):
            yield [dict(zip(batch, values)) for values in zip(*batch.values())]


def open_rows(path: str, split: str) -> ParquetRows | DatasetRows:
    """The rows of a local dataset (Parquet, Arrow, `save_to_disk`) or a hub id; a plain message when the hub
    cannot be reached and the dataset is not in the local cache."""
    import datasets

    local = Path(path)
    try:
        if local.is_dir() and (local / "dataset_info.json").is_file() and (local / "state.json").is_file():
            return DatasetRows(datasets.load_from_disk(str(local)))
        if local.exists():
            if local.is_file() and local.suffix == ".parquet":
                return ParquetRows([local])
            if local.is_dir() and (shards := sorted(local.rglob("*.parquet"))):
                return ParquetRows(shards)
            arrow = [local] if local.is_file() else sorted(local.rglob("*.arrow"))
            if not arrow:
                raise DataContractError(f"{local}: no .parquet or .arrow files", hint="export the dataset to Parquet")
            return DatasetRows(datasets.load_dataset("arrow", data_files=[str(f) for f in arrow], split="train"))
        # Downloads the shards once into the datasets cache (later runs read the cache, also offline).
        return DatasetRows(datasets.load_dataset(path, split=split))
    except DataContractError:
        raise
    except Exception as exc:  # noqa: BLE001 - datasets raises many types for "not reachable, not cached"
        raise DataContractError(
            f"Hugging Face dataset {path!r} could not be loaded: {type(exc).__name__}: {str(exc)[:300]}",
            hint=(
                "offline and not in the local cache? On a connected machine run "
                f"`hf download {path} --repo-type dataset --include 'data/*.parquet' --local-dir deepfashion`"
                " and point the source's path at that folder (its Parquet shards are read as they are)"
            ),
        ) from None
