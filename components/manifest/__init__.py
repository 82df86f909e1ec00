"""The data contract: one Parquet manifest per dataset directory, one row per sample."""

from components.manifest.schema import (
    CATEGORIES,
    MANIFEST_FILENAME,
    MANIFEST_SCHEMA,
    SPLITS,
    STATUSES,
    empty_manifest,
    read_manifest,
    sample_id_for,
    write_manifest,
)

__all__ = [
    "CATEGORIES",
    "MANIFEST_FILENAME",
    "MANIFEST_SCHEMA",
    "SPLITS",
    "STATUSES",
    "empty_manifest",
    "read_manifest",
    "sample_id_for",
    "write_manifest",
]
