"""Crawl one site into its crawl state: listing pages (with pagination), product pages, then their images.

Pages and images are fetched by a thread pool through one polite Fetcher; every result is written to the
state as it arrives, so an interrupted crawl resumes (what this crawl already fetched is not asked for
again) and a finished crawl is followed by a revalidating one (conditional requests, 304s reuse the state).
"""

from __future__ import annotations

import logging
import threading
from collections import Counter
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

import httpx

from components.manifest.image_io import DecodeLimits, decode_image_bytes, perceptual_hash
from components.data.params import ScrapeParams
from components.data.scrape.extract import ListingPage, ProductPage, parse_listing, parse_product
from components.data.scrape.fetch import Fetcher, FetchPolicy, FetchResult
from components.data.scrape.site import SiteConfig
from components.data.scrape.state import BlobRecord, CrawlState, ImageRecord, PageRecord
from components.data.scrape.urls import host_of, json_has_redacted, redact, split_credentials
from components.errors import Quarantine

log = logging.getLogger("vton.scrape")

EXTENSIONS = {"JPEG": "jpg", "MPO": "jpg", "PNG": "png", "WEBP": "webp", "GIF": "gif", "BMP": "bmp", "TIFF": "tif"}

# Events reported to `on_event` (the progress bar, tests): one per page or image handled.
EVENTS = ("page", "page_cached", "image", "image_cached", "skipped", "failed")


@dataclass
class CrawlReport:
    """What one crawl of one site did."""

    site: str
    crawl_id: int = 0
    resumed: bool = False
    events: Counter = field(default_factory=Counter)
    requests: int = 0
    refused: dict[str, int] = field(default_factory=dict)
    seconds: float = 0.0

    def summary(self) -> str:
        """One line for the log."""
        e = self.events
        return (
            f"{self.site}: crawl {self.crawl_id}{' (resumed)' if self.resumed else ''}: "
            f"{e['page']} pages fetched, {e['page_cached']} unchanged, {e['image']} images downloaded, "
            f"{e['image_cached']} unchanged, {e['skipped']} skipped, {e['failed']} failed, {self.requests} requests"
        )


class SiteCrawler:
    """Crawls one site into its CrawlState."""

    def __init__(
        self,
        site: SiteConfig,
        params: ScrapeParams,
        state: CrawlState,
        on_event: Callable[[str], None] | None = None,
        transport: httpx.BaseTransport | None = None,
    ) -> None:
        self.site = site
        self.params = params
        self.state = state
        self.on_event = on_event or (lambda _kind: None)
        ua = site.politeness.user_agent or params.user_agent
        # user:password@ in a start URL is configuration: sent as basic auth to that host, never part of a URL.
        self.start_urls: list[str] = []
        credentials: dict[str, tuple[str, str]] = {}
        for url in site.start_urls:
            clean, login = split_credentials(url)
            self.start_urls.append(clean)
            if login is not None:
                credentials[host_of(clean)] = login
        self.fetcher = Fetcher(
            FetchPolicy(
                user_agent=ua,
                allowed_hosts=site.hosts(),
                min_delay=site.politeness.min_delay_seconds,
                max_retries=site.politeness.max_retries,
                backoff=site.politeness.backoff_seconds,
                max_retry_after=site.politeness.max_retry_after_seconds,
                timeout=params.timeout_seconds,
                credentials=credentials,
            ),
            transport=transport,
        )
        lim = site.limits
        self.page_bytes = int(lim.max_page_mb * 2**20)
        self.image_bytes = int(lim.max_image_mb * 2**20)
        self.decode_limits = DecodeLimits(lim.min_side, lim.max_pixels, self.image_bytes)
        self.crawl_id = 0
        self.report = CrawlReport(site.name)
        self._lock = threading.Lock()

    def _emit(self, kind: str) -> None:
        with self._lock:
            self.report.events[kind] += 1
        self.on_event(kind)

    # -- pages -----------------------------------------------------------------------------------------

    def fetch_page(self, url: str, kind: str, seq: int) -> str | None:
        """The payload (parsed page, JSON) of `url`: reused when this crawl already has it or it is unchanged."""
        old = self.state.page(url)
        # The state stores links redacted: a page whose links lost a token must be fetched again for them.
        usable = old is not None and (old.status != "ok" or (bool(old.payload) and not json_has_redacted(old.payload)))
        if old and usable and old.crawl_id == self.crawl_id and old.status in ("ok", "failed", "skipped"):
            # Handled before this crawl was interrupted: not asked for again.
            self._emit("page_cached" if old.status == "ok" else old.status)
            return old.payload if old.status == "ok" else None
        # A validator is only worth sending when the state still holds what a 304 would point to.
        valid = usable and bool(old.etag or old.last_modified)
        result = self.fetcher.get(
            url,
            tuple(self.site.limits.page_types),
            self.page_bytes,
            etag=old.etag if valid else None,
            last_modified=old.last_modified if valid else None,
        )
        rec = PageRecord(url, kind, result.outcome, result.reason or None, None, None, result.fetched_at or None,
                         self.crawl_id, self.crawl_id, seq, None)
        if result.outcome == "not_modified" and valid:
            rec.status, rec.reason, rec.etag, rec.last_modified = old.status, old.reason, old.etag, old.last_modified
            rec.payload, rec.fetched_at = old.payload, old.fetched_at
            self.state.put_page(rec)
            self._emit("page_cached" if old.status == "ok" else old.status)
            return rec.payload if old.status == "ok" else None
        if result.outcome == "ok":
            html = result.body.decode("utf-8", "replace")  # a wrong guess garbles text, never URLs
            base = result.final_url or url
            parsed = parse_listing(html, base, self.site.listing) if kind == "listing" else parse_product(
                html, base, self.site.product
            )
            payload = parsed.to_json()  # with its links as fetched; the state keeps them redacted
            rec.status, rec.etag, rec.last_modified, rec.payload = "ok", result.etag, result.last_modified, payload
            self.state.put_page(rec)
            self._emit("page")
            return payload
        rec.etag, rec.last_modified = result.etag, result.last_modified  # an unchanged bad page stays bad
        self.state.put_page(rec)
        self._emit("skipped" if result.outcome == "skipped" else "failed")
        return None

    def walk_listings(self) -> list[str]:
        """Product page URLs from every start URL's listing pages, in page order, following pagination."""
        products: list[str] = []
        visited: set[str] = set()
        for start in self.start_urls:
            url: str | None = start
            pages = 0
            while url and url not in visited and pages < self.site.listing.max_pages:
                visited.add(url)
                pages += 1
                payload = self.fetch_page(url, "listing", self.state.next_seq())
                if payload is None:
                    break
                listing = ListingPage.from_json(payload)
                products += [p for p in listing.product_urls if p not in products]
                url = listing.next_url
        return products

    # -- images ----------------------------------------------------------------------------------------

    def fetch_image(self, url: str) -> None:
        """Download `url` into the blob store (unless this crawl has it or it is unchanged) and record it."""
        old = self.state.image(url)
        old_blob = self.state.blob(old.sha256) if old and old.sha256 else None
        have_file = old_blob is not None and self.state.blob_path(old_blob.sha256, old_blob.ext).is_file()
        if old and old.crawl_id == self.crawl_id and (old.status != "ok" or have_file):
            self._emit("image_cached" if old.status == "ok" else old.status)  # handled before an interruption
            return
        valid = old is not None and bool(old.etag or old.last_modified) and (old.status != "ok" or have_file)
        result = self.fetcher.get(
            url,
            tuple(self.site.limits.image_types),
            self.image_bytes,
            etag=old.etag if valid else None,
            last_modified=old.last_modified if valid else None,
        )
        rec = ImageRecord(url, result.outcome, result.reason or None, None, None, result.fetched_at or None,
                          self.crawl_id, None)
        if result.outcome == "not_modified" and valid:
            rec.status, rec.reason, rec.etag, rec.last_modified = old.status, old.reason, old.etag, old.last_modified
            rec.sha256, rec.fetched_at = old.sha256, old.fetched_at  # the content is the one fetched then
            self.state.put_image(rec)
            self._emit("image_cached" if old.status == "ok" else old.status)
            return
        rec.etag, rec.last_modified = result.etag, result.last_modified
        if result.outcome == "ok":
            try:
                self._store(result, rec)
            except Quarantine as q:
                rec.status, rec.reason = "failed", q.reason
                log.info("failed %s: %s", redact(url), q.reason)
        self.state.put_image(rec)
        self._emit({"ok": "image", "skipped": "skipped"}.get(rec.status, "failed"))

    def _store(self, result: FetchResult, rec: ImageRecord) -> None:
        decoded = decode_image_bytes(result.body, self.decode_limits)  # raises Quarantine with the reason
        ext = EXTENSIONS.get(decoded.original_format, "png")
        self.state.write_blob(decoded.sha256, ext, result.body)
        if self.state.blob(decoded.sha256) is None:
            self.state.put_blob(
                BlobRecord(decoded.sha256, ext, perceptual_hash(decoded.image), decoded.image.width,
                           decoded.image.height, None, None, result.fetched_at)
            )
        rec.status, rec.etag, rec.last_modified, rec.sha256 = "ok", result.etag, result.last_modified, decoded.sha256

    # -- the crawl -------------------------------------------------------------------------------------

    def run(self, on_total: Callable[[int], None] | None = None) -> CrawlReport:
        """Crawl listings, product pages and images; the crawl is marked finished only when all were handled."""
        import time

        started = time.perf_counter()
        self.crawl_id, self.report.resumed = self.state.begin_crawl()
        self.report.crawl_id = self.crawl_id
        grow = on_total or (lambda _n: None)
        try:
            products = self.walk_listings()
            base = self.state.next_seq()
            grow(len(products))
            pool = ThreadPoolExecutor(self.params.max_concurrency, thread_name_prefix="scrape")
            try:
                payloads = list(pool.map(lambda a: self.fetch_page(a[1], "product", base + a[0]), enumerate(products)))
                images: list[str] = []
                for payload in payloads:
                    if payload:
                        images += [i.url for i in ProductPage.from_json(payload).images if i.url not in images]
                grow(len(images))
                list(pool.map(self.fetch_image, images))
            finally:
                pool.shutdown(wait=True, cancel_futures=True)  # on Ctrl-C: stop queued work, keep what is saved
            self.state.finish_crawl(self.crawl_id)
        finally:
            self.fetcher.close()
            self.report.requests = self.fetcher.counters.requests
            self.report.refused = dict(self.fetcher.counters.refused)
            self.report.seconds = time.perf_counter() - started
        return self.report


def crawl_site(
    site: SiteConfig,
    params: ScrapeParams,
    state_root: Path,
    on_event: Callable[[str], None] | None = None,
    on_total: Callable[[int], None] | None = None,
) -> CrawlReport:
    """Crawl `site` into `<state_root>/<site.name>` and return what happened."""
    state = CrawlState(state_root / site.name)
    try:
        return SiteCrawler(site, params, state, on_event).run(on_total)
    finally:
        state.close()
