"""params.yaml `paths`: where each stage reads and writes. In the core (not the aggregate params.py) because the
steps' own modules resolve these folders too (promotion reads what train and validate wrote)."""

from __future__ import annotations

from components.config.base import Section


class PathsParams(Section):
    """Where each stage reads and writes, relative to the project root (dvc.yaml interpolates these)."""

    raw: str = "data/raw"
    scraped: str = "data/scraped"
    imported: str = "data/imported"
    augmented: str = "data/augmented"
    annotated: str = "data/annotated"
    reports: str = "reports"
    models: str = "models"
