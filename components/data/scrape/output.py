"""Write scraped pairs as a folder the `folder` importer reads, plus the list of what was quarantined.

    <out>/pairs.csv        person, garment, category, split, source, source_url, source_image_url,
                           garment_image_url, fetched_at, licence, product_id
    <out>/quarantine.csv   source, page_url, product_id, reason
    <out>/<site>/person/<sha256>.<ext>, <out>/<site>/garment/<sha256>.<ext>   original bytes
"""

from __future__ import annotations

import csv
import shutil
from pathlib import Path

from components.data.params import ImportSource
from components.data.scrape.pairing import ScrapedPair, ScrapeQuarantine
from components.data.scrape.state import CrawlState

PAIRS_COLUMNS = (
    "person", "garment", "category", "split", "source", "source_url", "source_image_url", "garment_image_url",
    "fetched_at", "licence", "product_id",
)
QUARANTINE_COLUMNS = ("source", "page_url", "product_id", "reason")


def write_scraped(
    out_dir: Path,
    pairs: list[tuple[CrawlState, ScrapedPair]],
    quarantined: list[ScrapeQuarantine],
) -> None:
    """Replace `out_dir` with these pairs (files copied from the crawl states) and the quarantine list."""
    if out_dir.exists():
        shutil.rmtree(out_dir)
    out_dir.mkdir(parents=True)
    rows = []
    for state, pair in pairs:
        rel = {}
        for role, blob in (("person", pair.person), ("garment", pair.garment)):
            rel[role] = f"{pair.site}/{role}/{blob.sha256}.{blob.ext}"
            target = out_dir / rel[role]
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(state.blob_path(blob.sha256, blob.ext), target)
        rows.append({
            "person": rel["person"], "garment": rel["garment"], "category": pair.category, "split": "",
            "source": pair.site, "source_url": pair.page_url, "source_image_url": pair.person_url,
            "garment_image_url": pair.garment_url, "fetched_at": pair.fetched_at, "licence": pair.licence,
            "product_id": pair.product_id,
        })
    _write_csv(out_dir / "pairs.csv", PAIRS_COLUMNS, rows)
    _write_csv(out_dir / "quarantine.csv", QUARANTINE_COLUMNS,
               [{"source": q.site, "page_url": q.page_url, "product_id": q.product_id, "reason": q.reason}
                for q in quarantined])


def _write_csv(path: Path, columns: tuple[str, ...], rows: list[dict]) -> None:
    with path.open("w", newline="") as fh:
        writer = csv.DictWriter(fh, fieldnames=columns, lineterminator="\n")
        writer.writeheader()
        writer.writerows(rows)


def read_quarantine(out_dir: Path) -> list[dict]:
    """The rows of `<out>/quarantine.csv`."""
    with (out_dir / "quarantine.csv").open(newline="") as fh:
        return list(csv.DictReader(fh))


def read_pairs(out_dir: Path) -> list[dict]:
    """The rows of `<out>/pairs.csv`."""
    with (out_dir / "pairs.csv").open(newline="") as fh:
        return list(csv.DictReader(fh))


def scraped_import_source(path: str, root: Path) -> ImportSource | None:
    """A `folder` import source for the scraped folder at `path` (project-relative), or None when it lists no pairs."""
    folder = Path(path) if Path(path).is_absolute() else root / path
    if not (folder / "pairs.csv").is_file() or not read_pairs(folder):
        return None
    return ImportSource(kind="folder", path=path, name="scraped", licence="see pairs.csv licence column")
