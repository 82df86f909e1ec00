"""params.yaml sections for the acquire steps: import, scrape, augment."""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from components.config.base import Section

SourceKind = Literal["folder", "viton_hd", "dresscode", "hf"]


class ImportSource(Section):
    """One source to import; `path` is relative to the project root (or a hub id for `hf`)."""

    kind: SourceKind
    path: str
    name: str | None = None  # provenance name; defaults to the folder or dataset id
    licence: str = "unknown"
    category: Literal["upper_body", "lower_body", "dresses"] | None = None  # for sources without one (hf)
    hf_split: str = "train"  # which split of a Hugging Face dataset to read


class ImportParams(Section):
    """How raw sources become the canonical dataset (decode checks, normalisation, splits)."""

    sources: list[ImportSource] = Field(default_factory=lambda: [ImportSource(kind="folder", path="data/raw/sample")])
    min_side: int = Field(default=64, gt=0)
    max_pixels: int = Field(default=40_000_000, gt=0)
    max_file_mb: float = Field(default=50.0, gt=0)
    image_format: Literal["png", "jpg"] = "png"
    jpeg_quality: int = Field(default=95, ge=50, le=100)
    test_fraction: float = Field(default=0.2, ge=0.0, lt=1.0)
    # Normalised images keyed by content hash, outside DVC's outputs; null disables the cache.
    cache_dir: str | None = ".cache/import"
    include_scraped: bool = True  # import paths.scraped too when its pairs.csv lists pairs


class ScrapeParams(Section):
    """Which site configs to crawl and how politely (per-site details live in each site YAML)."""

    sites: list[str] = Field(default_factory=list)  # site YAML files, relative to the project root
    user_agent: str = "vton-pipeline-bot/0.1 (+https://github.com/vton-pipeline/vton-pipeline)"
    max_concurrency: int = Field(default=4, gt=0)
    timeout_seconds: float = Field(default=20.0, gt=0)
    # Crawl state (validators, content-addressed downloads) lives outside DVC's outs, so it survives the
    # output being deleted before each run; losing it only costs a full re-download.
    state_dir: str = ".cache/scrape"


class AugmentParams(Section):
    """Paired, geometry-consistent augmentation of training samples."""

    enabled: bool = True
    variants_per_sample: int = Field(default=1, ge=0)
    seed: int = 0
