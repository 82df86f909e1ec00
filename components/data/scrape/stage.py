"""The `scrape` stage: crawl the configured sites into paths.scraped (pairs.csv, images, quarantine.csv)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from components.data.scrape.run import ScrapeReport, scrape_sites
from components.data.scrape.site import load_site
from components.params import Params
from components.project import resolve


@dataclass
class ScrapeResult:
    """What the crawl found and where its output went."""

    report: ScrapeReport
    out_dir: Path

    def summary(self) -> str:
        """The crawl's summary, then where the pairs and the quarantine list are."""
        return (f"{self.report.summary()}\n"
                f"pairs: {self.out_dir / 'pairs.csv'}  quarantine list: {self.out_dir / 'quarantine.csv'}")


def run(params: Params, root: Path, configs: list[Path] | None = None, out: Path | None = None,
        state_dir: Path | None = None) -> ScrapeResult:
    """Crawl `configs` (default scrape.sites) into `out` (default paths.scraped), keeping crawl state in
    `state_dir` (default scrape.state_dir)."""
    sites = [load_site(resolve(p, root)) for p in (configs or params.scrape.sites)]
    target = resolve(out or params.paths.scraped, root)
    report = scrape_sites(sites, params.scrape, target, resolve(state_dir or params.scrape.state_dir, root))
    return ScrapeResult(report, target)
