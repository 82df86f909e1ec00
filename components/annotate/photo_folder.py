"""Which files of a plain photo folder (`vton annotate --input FOLDER`) are person photos, in a stable order."""

from __future__ import annotations

from pathlib import Path

IMAGE_SUFFIXES = (".jpg", ".jpeg", ".png", ".webp", ".bmp", ".tif", ".tiff")


def folder_photos(folder: Path) -> list[Path]:
    """The photo files anywhere under `folder` (by suffix, any case), sorted by path."""
    return sorted(p for p in Path(folder).rglob("*") if p.is_file() and p.suffix.lower() in IMAGE_SUFFIXES)
