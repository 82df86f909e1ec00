"""A site config: one YAML file per site, validated with pydantic when it is loaded."""

from __future__ import annotations

from pathlib import Path
from typing import Literal
from urllib.parse import urlsplit

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from components.errors import ConfigError
from components.yaml_text import parse_yaml

Category = Literal["upper_body", "lower_body", "dresses"]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Selector(_Strict):
    """A CSS selector and what to read from each match: an attribute, or `text` for the element's text."""

    css: str
    attr: str = "text"


class ListingConfig(_Strict):
    """How to walk the catalogue: links to product pages, and the link to the next listing page."""

    product_links: str = Field(description="CSS selector of <a> elements linking to product pages")
    next_page: str | None = Field(default=None, description="CSS selector of the <a> to the next listing page")
    max_pages: int = Field(default=100, gt=0, description="listing pages followed per start URL")


class ProductConfig(_Strict):
    """Where a product page keeps its id, category and images (CSS selectors, JSON-LD, or both)."""

    extract: Literal["auto", "json_ld", "css"] = "auto"  # auto: JSON-LD Product when present, CSS otherwise
    product_id: Selector | None = None
    category: Selector | None = None
    garment_images: Selector | None = None  # hint: packshots; every image is still classified
    model_images: Selector | None = None  # hint: on-model photos
    images: Selector | None = None  # images without a role; classification decides


class PolitenessConfig(_Strict):
    """How gently to crawl this site. robots.txt is always obeyed; its Crawl-delay wins when larger."""

    min_delay_seconds: float = Field(default=1.0, ge=0)
    max_retries: int = Field(default=3, ge=0)
    backoff_seconds: float = Field(default=2.0, ge=0)
    max_retry_after_seconds: float = Field(default=120.0, ge=0)
    user_agent: str | None = None  # overrides scrape.user_agent for this site


class LimitsConfig(_Strict):
    """What a response may be before its body is downloaded, and what an image may be before it is decoded."""

    max_page_mb: float = Field(default=5.0, gt=0)
    max_image_mb: float = Field(default=20.0, gt=0)
    page_types: list[str] = Field(default_factory=lambda: ["text/html", "application/xhtml+xml"])
    image_types: list[str] = Field(default_factory=lambda: ["image/jpeg", "image/png", "image/webp"])
    min_side: int = Field(default=256, gt=0)
    max_pixels: int = Field(default=40_000_000, gt=0)


class SiteConfig(_Strict):
    """Everything the crawler needs to know about one site."""

    name: str = Field(pattern=r"^[a-z0-9][a-z0-9_.-]{0,63}$")
    start_urls: list[str] = Field(min_length=1)
    allowed_hosts: list[str] = Field(default_factory=list)  # default: the hosts of start_urls
    licence: str = Field(min_length=1, description="licence or terms note recorded on every sample")
    listing: ListingConfig
    product: ProductConfig = ProductConfig()
    category_map: dict[str, Category] = Field(min_length=1)
    default_category: Category | None = None  # when a page names no category
    politeness: PolitenessConfig = PolitenessConfig()
    limits: LimitsConfig = LimitsConfig()
    near_duplicate_distance: int = Field(default=6, ge=0, le=64)  # phash bits; <= this is the same picture

    @field_validator("start_urls")
    @classmethod
    def _http_only(cls, urls: list[str]) -> list[str]:
        for url in urls:
            parts = urlsplit(url)
            if parts.scheme not in ("http", "https") or not parts.hostname:
                raise ValueError(f"{url!r} is not an http(s) URL")
        return urls

    @model_validator(mode="after")
    def _needs_images(self) -> "SiteConfig":
        p = self.product
        if p.extract == "css" and not (p.garment_images or p.model_images or p.images):
            raise ValueError("product.extract is css but no image selector is set (garment_images/model_images/images)")
        return self

    def hosts(self) -> frozenset[str]:
        """Hosts the crawler may contact: allowed_hosts, or the start URLs' hosts when none are listed."""
        listed = self.allowed_hosts or [urlsplit(u).hostname or "" for u in self.start_urls]
        return frozenset(h.lower() for h in listed)

    def map_category(self, raw: str | None) -> str | None:
        """The garment category a page's category text maps to (whole text first, then its breadcrumb parts)."""
        if not raw:
            return self.default_category
        table = {k.strip().lower(): v for k, v in self.category_map.items()}
        text = " ".join(raw.split()).lower()
        if text in table:
            return table[text]
        for sep in (">", "/", "|", "»", ","):
            if sep in text:
                for part in reversed([p.strip() for p in text.split(sep)]):
                    if part in table:
                        return table[part]
        return None


def load_site(path: str | Path) -> SiteConfig:
    """Read and validate a site YAML; every problem is reported with the file and field."""
    p = Path(path)
    if not p.is_file():
        raise ConfigError(f"{p}: site config not found", hint="pass --config with a site YAML (see components/data/scrape/sites/)")
    try:
        raw = parse_yaml(p.read_text())
    except yaml.YAMLError as exc:
        raise ConfigError(f"{p}: not valid YAML: {exc}") from None
    try:
        return SiteConfig.model_validate(raw or {})
    except ValidationError as exc:
        lines = [f"{p}: {'.'.join(str(x) for x in e['loc']) or '<root>'}: {e['msg']}" for e in exc.errors()]
        raise ConfigError("\n".join(lines), hint="see README 'Writing a site config'") from None
