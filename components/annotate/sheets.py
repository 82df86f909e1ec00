"""The overlay sheets a run shows its annotations with (overlay.py draws them), one JPEG per garment category,
cached in the annotate cache by the bytes of the files they show."""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import TYPE_CHECKING

from components.annotate import layout
from components.annotate.report import AnnotateResult
from components.manifest.names import CATEGORIES

if TYPE_CHECKING:
    import pandas as pd


def sheet_key(dataset_dir: Path, rows: pd.DataFrame, category: str) -> str:
    """What an overlay sheet is drawn from: the bytes of the files it shows, its category and the drawing code
    (ours and Pillow's, whose JPEG encoder writes it)."""
    import PIL

    from components.annotate import keypoints, overlay
    from components.hashing import sha256_file

    h = hashlib.sha256(f"{category}\0{PIL.__version__}".encode())
    for module in (overlay.__file__, keypoints.__file__, layout.__file__):
        h.update(Path(module).read_bytes())
    for row in rows.itertuples(index=False):
        for column in overlay.SHEET_COLUMNS:
            value = getattr(row, column, None)
            h.update(sha256_file(dataset_dir / value).encode() if isinstance(value, str) else b"-")
    return h.hexdigest()


def write_overlays(result: AnnotateResult, target: Path, max_samples: int,
                   cache_dir: Path | None = None) -> dict[str, Path]:
    """Save one overlay sheet per category that has ok samples (JPEG: photos, small enough to show inline).

    With `cache_dir`, a sheet whose samples' files are unchanged is restored from the annotate cache, not drawn
    again: a re-run whose inputs are all cached pays a link per sheet."""
    import io

    from components.annotate import overlay
    from components.annotate.cache import AnnotateCache
    from components.file_store import place

    cache = AnnotateCache(cache_dir) if cache_dir is not None else None
    target.mkdir(parents=True, exist_ok=True)
    written = {}
    for category in CATEGORIES:
        rows = overlay.sheet_rows(result.manifest, category, max_samples)
        if rows.empty:
            continue
        path = layout.fresh_file(target / f"overlay_{category}.jpg")
        key = sheet_key(result.out_dir, rows, category) if cache is not None else None
        cached = cache.sheet(key) if cache is not None else None
        if cached is None:
            buf = io.BytesIO()
            sheet = overlay.overlay_sheet(result.out_dir, rows, category, max_samples)
            sheet.convert("RGB").save(buf, format="JPEG", quality=overlay.SHEET_QUALITY)
            if cache is None:
                path.write_bytes(buf.getvalue())
            else:
                cached = cache.save_sheet(key, buf.getvalue())
        if cached is not None:
            place(cached, path)
        written[category] = path
    return written
