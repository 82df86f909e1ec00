"""`vton data scrape`: crawl every configured site, classify and pair its images, write data/scraped."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from components.data.params import ScrapeParams
from components.data.scrape.crawl import CrawlReport, crawl_site
from components.data.scrape.output import write_scraped
from components.data.scrape.pairing import ScrapedPair, ScrapeQuarantine, classify_blobs, pair_products
from components.data.scrape.site import SiteConfig
from components.data.scrape.state import CrawlState
from components.progress import progress_bar


@dataclass
class ScrapeReport:
    """What one `vton data scrape` did across its sites."""

    crawls: list[CrawlReport] = field(default_factory=list)
    pairs: int = 0
    quarantined: list[ScrapeQuarantine] = field(default_factory=list)

    def summary(self) -> str:
        """Lines for the log: one per site, then the totals and the quarantine reasons."""
        lines = [c.summary() for c in self.crawls] or ["no sites configured (scrape.sites is empty)"]
        lines.append(f"scraped {self.pairs} pairs, {len(self.quarantined)} quarantined")
        lines += [f"  quarantined {q.page_url}: {q.reason}" for q in self.quarantined]
        return "\n".join(lines)


def _crawl_with_bar(site: SiteConfig, params: ScrapeParams, state_root: Path) -> CrawlReport:
    bar = progress_bar(total=0, desc=f"scrape {site.name}", unit="url")
    counts = {"pages": 0, "images": 0, "skipped": 0, "failed": 0}

    def on_event(kind: str) -> None:
        key = {"page": "pages", "page_cached": "pages", "image": "images", "image_cached": "images"}.get(kind, kind)
        counts[key] += 1
        if kind.startswith("page") or kind.startswith("image"):
            bar.update(1)
        bar.set_postfix(counts, refresh=False)

    def on_total(n: int) -> None:
        bar.total = (bar.total or 0) + n
        bar.refresh()

    try:
        return crawl_site(site, params, state_root, on_event, on_total)
    finally:
        bar.close()


def scrape_sites(sites: list[SiteConfig], params: ScrapeParams, out_dir: Path, state_root: Path) -> ScrapeReport:
    """Crawl `sites` (resuming or revalidating each one's state), then rebuild `out_dir` from the states."""
    report = ScrapeReport()
    all_pairs: list[tuple[CrawlState, ScrapedPair]] = []
    states = []
    detector = None
    try:
        for site in sites:
            report.crawls.append(_crawl_with_bar(site, params, state_root))
            state = CrawlState(state_root / site.name)
            states.append(state)
            if any(b.kind is None for b in state.blobs()):
                if detector is None:
                    from components.data.scrape.classify import PersonDetector

                    detector = PersonDetector()
                classify_blobs(state, detector)
            pairs, quarantined = pair_products(site, state)
            all_pairs += [(state, p) for p in pairs]
            report.quarantined += quarantined
        write_scraped(out_dir, all_pairs, report.quarantined)
        report.pairs = len(all_pairs)
    finally:
        if detector is not None:
            detector.close()
        for state in states:
            state.close()
    return report
