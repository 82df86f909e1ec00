"""params.yaml sections for the acquire steps: import, scrape, augment."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import Field

from components.config.base import Section
from components.executors.params import RayExecutorParams

SourceKind = Literal["folder", "viton_hd", "dresscode", "hf"]


class HfColumns(Section):
    """Which columns of a Hugging Face dataset hold what; null: the dataset has no such column.

    With no `garment` column the garment is cut from the person photo with `mask`; rows sharing a `group`
    value are views of one item (garment cut from one view, worn in another; one split per group)."""

    person: str
    garment: str | None = None
    mask: str | None = None
    caption: str | None = None
    category: str | None = None  # values: upper_body|lower_body|dresses, or DeepFashion In-shop class names
    group: str | None = None
    view: str | None = None
    gender: str | None = None  # the person's gender, kept as the source spells it


class ImportSource(Section):
    """One source to import; `path` is relative to the project root (or a hub id for `hf`)."""

    kind: SourceKind
    path: str
    name: str | None = None  # provenance name; defaults to the folder or dataset id
    licence: str = "unknown"
    category: Literal["upper_body", "lower_body", "dresses"] | None = None  # for sources without one (hf)
    hf_split: str = "train"  # which split of a Hugging Face dataset to read
    # Column mapping for a Hugging Face dataset; null: detected (deepFashion-with-masks, or image/cloth).
    hf_columns: HfColumns | None = None
    # Mask labels (ints, or "#rrggbb" for colour masks) of each category's garment in a multi-label mask;
    # null: the DeepFashion-MultiModal parsing ids (components/data/importers/garment_cut.py).
    hf_mask_labels: dict[Literal["upper_body", "lower_body", "dresses"], list[int | str]] | None = None


class ImportParams(Section):
    """How raw sources become the canonical dataset (decode checks, normalisation, splits)."""

    sources: list[ImportSource] = Field(default_factory=lambda: [ImportSource(kind="folder", path="data/raw/sample")])
    min_side: int = Field(default=64, gt=0)
    max_pixels: int = Field(default=40_000_000, gt=0)
    max_file_mb: float = Field(default=50.0, gt=0)
    image_format: Literal["png", "jpg"] = "png"
    jpeg_quality: int = Field(default=95, ge=50, le=100)
    # How the PNGs are written. The old setting (6, default, adaptive: Pillow's) is 3-6x slower to write than the
    # default (level 1, run-length strategy, every row Up-filtered) for files about 5% larger; output bytes are
    # stable for a given setting.
    png_compress_level: int = Field(default=1, ge=0, le=9)
    png_zlib_strategy: Literal["default", "rle"] = "rle"
    png_filter: Literal["adaptive", "up"] = "up"
    workers: int = Field(default=0, ge=0)  # threads decoding and encoding images; 0: every core available
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


class TransformSpec(Section):
    """One albumentations transform: its class name, probability and keyword arguments."""

    name: str
    p: float = Field(default=0.5, ge=0.0, le=1.0)
    args: dict[str, Any] = Field(default_factory=dict)


def _default_person_transforms() -> list[TransformSpec]:
    return [TransformSpec(name="Affine", p=0.8, args={"scale": [0.9, 1.1], "translate_percent": [-0.05, 0.05],
                                                       "rotate": [-5, 5], "fill": 255, "fill_mask": 0})]


def _default_garment_transforms() -> list[TransformSpec]:
    return [TransformSpec(name="Affine", p=0.5, args={"scale": [0.95, 1.05], "fill": 255, "fill_mask": 0})]


def _default_photometric() -> list[TransformSpec]:
    return [TransformSpec(name="ColorJitter", p=0.5,
                          args={"brightness": 0.1, "contrast": 0.1, "saturation": 0.05, "hue": 0.0})]


class AugmentParams(Section):
    """Paired, geometry-consistent augmentation of training samples (train split only, never test).

    person_transforms move the person image and every map with it (masks, parsing, DensePose, keypoints);
    garment_transforms move the garment and its cloth mask; photometric ones change the colours of person
    and garment alike (a jitter on one side only would teach the model to recolour the garment).
    """

    enabled: bool = True
    variants_per_sample: int = Field(default=1, ge=0)
    seed: int = 0
    # Mirror whole pairs (person with left/right labels swapped, and garment) with probability flip_p.
    # Off by default: a mirrored garment's print or logo reads backwards.
    garment_flip: bool = False
    flip_p: float = Field(default=0.5, ge=0.0, le=1.0)
    person_transforms: list[TransformSpec] = Field(default_factory=_default_person_transforms)
    garment_transforms: list[TransformSpec] = Field(default_factory=_default_garment_transforms)
    photometric: list[TransformSpec] = Field(default_factory=_default_photometric)
    # Finished variants by what made them, outside the stage's DVC output (which `dvc repro` deletes first).
    cache_dir: str = ".cache/augment"
    # local: this process; ray: the variants are made on Ray actors (the cluster RAY_ADDRESS names), `shard_size`
    # parents per shard, and the driver assembles the manifest from them as a local run does. Neither is part of
    # a variant's cache key.
    executor: Literal["local", "ray"] = "local"
    shard_size: int = Field(default=16, gt=0)
    ray: RayExecutorParams = RayExecutorParams()
