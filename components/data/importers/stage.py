"""The `import` stage: every import source (and the scraped pairs) normalised into paths.imported + manifest."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from components.data.importers.ingest import ImportReport, import_sources
from components.data.params import ImportSource
from components.manifest.schema import MANIFEST_FILENAME
from components.params import Params
from components.project import resolve


@dataclass
class ImportResult:
    """The import's counts and where its manifest went."""

    report: ImportReport
    out_dir: Path

    def summary(self) -> str:
        """The import's summary, then the manifest's path."""
        return f"{self.report.summary()}\nmanifest: {self.out_dir / MANIFEST_FILENAME}"


def run(params: Params, root: Path, sources: list[ImportSource] | None = None, out: Path | None = None) -> ImportResult:
    """Import `sources` (default import.sources, plus paths.scraped when import.include_scraped) into `out`
    (default paths.imported)."""
    settings = params.import_
    if sources:
        settings = settings.model_copy(update={"sources": sources})
    elif settings.include_scraped:
        from components.data.scrape.output import scraped_import_source

        scraped = scraped_import_source(params.paths.scraped, root)
        if scraped is not None:  # `vton data scrape` output joins the manifest like any import
            settings = settings.model_copy(update={"sources": [*settings.sources, scraped]})
    target = resolve(out or params.paths.imported, root)
    return ImportResult(import_sources(settings, target, root), target)
