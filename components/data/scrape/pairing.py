"""From a site's crawl state to pairs: classify every stored image, then pick one on-model photo and one
garment-only image per product; anything unpaired, ambiguous or (near-)duplicated is quarantined with a reason.
"""

from __future__ import annotations

import logging
from collections import Counter
from dataclasses import dataclass

from components.manifest.image_io import DecodeLimits, decode_image_bytes, hamming_distance
from components.data.scrape.extract import ProductPage
from components.data.scrape.site import SiteConfig
from components.data.scrape.state import BlobRecord, CrawlState
from components.data.scrape.urls import redact
from components.errors import Quarantine
from components.progress import progress

log = logging.getLogger("vton.scrape")


@dataclass
class ScrapedPair:
    """One product that yielded a (person wearing it, garment alone) pair, with its provenance."""

    site: str
    product_id: str
    page_url: str
    category: str
    person: BlobRecord
    garment: BlobRecord
    person_url: str
    garment_url: str
    fetched_at: str
    licence: str


@dataclass
class ScrapeQuarantine:
    """A page or product that yielded no pair, and why."""

    site: str
    page_url: str
    product_id: str
    reason: str


def classify_blobs(state: CrawlState, detector: object) -> int:
    """Classify every stored image not classified yet (verdicts are kept per content hash); return how many."""
    todo = [b for b in state.blobs() if b.kind is None]
    for blob in progress(todo, desc="classify", unit="img"):
        path = state.blob_path(blob.sha256, blob.ext)
        try:
            image = decode_image_bytes(path.read_bytes(), DecodeLimits(min_side=1, max_bytes=2**31)).image
            verdict = detector.classify(image)
            blob.kind, blob.kind_reason = verdict.kind, verdict.reason
        except (OSError, Quarantine) as exc:
            blob.kind, blob.kind_reason = "ambiguous", f"stored file unreadable: {exc}"
        state.put_blob(blob)
    return len(todo)


def _describe(kinds: Counter, failures: list[str]) -> str:
    parts = [f"{n} {k}" for k, n in sorted(kinds.items())] + failures
    return "; ".join(parts) if parts else "no images"


def pair_products(site: SiteConfig, state: CrawlState) -> tuple[list[ScrapedPair], list[ScrapeQuarantine]]:
    """Pairs and quarantined items for every product page in the state, in discovery order (deterministic)."""
    pairs: list[ScrapedPair] = []
    quarantined: list[ScrapeQuarantine] = []
    claimed: list[tuple[BlobRecord, str]] = []  # images already used by a kept pair, with that pair's page

    def duplicate_of(blob: BlobRecord) -> str | None:
        for other, owner in claimed:
            if other.sha256 == blob.sha256:
                return f"duplicate (same file) of an image of {redact(owner)}"
            if blob.phash and other.phash:
                d = hamming_distance(blob.phash, other.phash)
                if d <= site.near_duplicate_distance:
                    return f"near-duplicate (phash distance {d}) of an image of {redact(owner)}"
        return None

    for page in state.product_pages():
        url = redact(page.url)
        if page.status != "ok" or not page.payload:
            quarantined.append(ScrapeQuarantine(site.name, url, "", f"product page {page.status}: {page.reason}"))
            continue
        product = ProductPage.from_json(page.payload)
        pid = product.product_id or ""
        category = site.map_category(product.category_text)
        if category is None:
            reason = (f"unmapped category {product.category_text!r} (add it to category_map)" if product.category_text
                      else "page names no category (set default_category or a category selector)")
            quarantined.append(ScrapeQuarantine(site.name, url, pid, reason))
            continue
        persons, garments, kinds, failures, seen = [], [], Counter(), [], set()
        for img in product.images:
            rec = state.image(img.url)
            if rec is None or rec.status != "ok" or not rec.sha256:
                failures.append(f"{redact(img.url)}: {rec.reason if rec else 'not fetched'}")
                continue
            blob = state.blob(rec.sha256)
            if blob is None or blob.sha256 in seen:  # the same file twice on one page is one image
                continue
            seen.add(blob.sha256)
            kinds[blob.kind or "unclassified"] += 1
            # The detector decides the role; the page's hint only orders candidates of that role.
            entry = (img.role != {"person": "model"}.get(blob.kind, blob.kind), blob, img.url, rec.fetched_at or "")
            if blob.kind == "person":
                persons.append(entry)
            elif blob.kind == "garment":
                garments.append(entry)
        if not garments or not persons:
            missing = "garment-only image" if not garments else "on-model image"
            quarantined.append(ScrapeQuarantine(site.name, url, pid, f"no {missing} ({_describe(kinds, failures)})"))
            continue
        _, person, person_url, person_at = sorted(persons, key=lambda e: e[0])[0]
        _, garment, garment_url, garment_at = sorted(garments, key=lambda e: e[0])[0]
        dup = duplicate_of(person) or duplicate_of(garment)
        if dup:
            role = "on-model image" if duplicate_of(person) else "garment image"
            quarantined.append(ScrapeQuarantine(site.name, url, pid, f"{role} is a {dup}"))  # stored once only
            continue
        claimed += [(person, page.url), (garment, page.url)]
        pairs.append(ScrapedPair(site.name, pid, url, category, person, garment, redact(person_url),
                                 redact(garment_url), max(person_at, garment_at), site.licence))
    return pairs, quarantined
