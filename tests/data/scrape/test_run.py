"""End to end: `scrape_sites` against the fixture shop on 127.0.0.1, and its output through the importer."""

from __future__ import annotations

import base64
import hashlib
import logging
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

import pytest

from components.data.params import ImportParams, ScrapeParams
from components.data.scrape.output import read_pairs, read_quarantine, scraped_import_source
from components.data.scrape.run import scrape_sites
from components.data.scrape.site import load_site
from components.manifest.schema import read_manifest
from tests.data.scrape.conftest import CRAWL_DELAY, USER_AGENT, FixtureShop, running_shop
from tests.data.scrape.shop import Route, product_html

PAGES = ["/robots.txt", "/catalog?page=1", "/catalog?page=2"] + [f"/product/{i}" for i in (1, 2, 3, 4, 5, 7, 8, 9, 10, 11)]
IMAGES = ["/img/p1-garment.png", "/img/p1-model.jpg", "/img/p2-garment.png", "/img/p2-model.jpg",
          "/img/p3-garment.png", "/img/p3-model.jpg", "/img/p4-garment.png", "/img/p4-model.jpg",
          "/img/p5-model.jpg", "/img/p5-garment.png", "/img/p8-garment.jpg", "/img/p9-huge.png",
          "/img/p10-garment.png", "/img/p10-model.jpg"]


def sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def crawl(fx, tmp_path, **params):
    return scrape_sites([load_site(fx.site_yaml)], ScrapeParams(**params), tmp_path / "scraped", tmp_path / "state")


@dataclass
class FirstCrawl:
    shop: FixtureShop
    out: Path
    log: str


@pytest.fixture(scope="module")
def first_crawl(real_photos, tmp_path_factory):
    """One crawl of a fresh fixture shop, shared by the tests that only read its results."""
    tmp = tmp_path_factory.mktemp("first-crawl")
    with running_shop(real_photos, tmp) as fx:
        handler = logging.Handler(logging.DEBUG)
        lines: list[str] = []
        handler.emit = lambda record: lines.append(record.getMessage())
        logger = logging.getLogger("vton.scrape")
        logger.addHandler(handler)
        old_level = logger.level
        logger.setLevel(logging.DEBUG)
        try:
            crawl(fx, tmp)
        finally:
            logger.removeHandler(handler)
            logger.setLevel(old_level)
        yield FirstCrawl(fx, tmp / "scraped", "\n".join(lines))


def test_first_crawl_fetches_exactly_the_allowed_urls_politely(first_crawl):
    hits = first_crawl.shop.shop.hits
    paths = [h.path for h in hits]

    assert sorted(set(paths)) == sorted(PAGES + IMAGES)
    assert "/private/6" not in paths  # robots.txt Disallow
    assert paths.count("/img/p3-garment.png") == 2  # 429 then 200
    assert all(paths.count(p) == 1 for p in set(paths) - {"/img/p3-garment.png"})
    assert [h.status for h in hits if h.path == "/product/7"] == [302]  # the foreign redirect is never followed
    assert {h.user_agent for h in hits} == {USER_AGENT}
    # Retry-After: 1 was honoured, and Crawl-delay spaced every request to the host.
    throttled = [h.at for h in hits if h.path == "/img/p3-garment.png"]
    assert throttled[1] - throttled[0] >= 0.95
    # Measured at the server, so single gaps jitter with thread scheduling: check every run of 4 gaps.
    times = sorted(h.at for h in hits)
    assert min(b - a for a, b in zip(times, times[4:])) >= 4 * CRAWL_DELAY * 0.75
    # The start URL carries credentials: sent as basic auth to the shop, they reach neither the log nor the output.
    assert {h.authorization for h in hits} == {"Basic " + base64.b64encode(b"shopper:s3cret").decode()}
    assert "redirect" in first_crawl.log and "s3cret" not in first_crawl.log
    assert "s3cret" not in (first_crawl.out / "pairs.csv").read_text()
    assert "s3cret" not in (first_crawl.out / "quarantine.csv").read_text()


def test_pairs_are_classified_stored_by_content_hash_with_provenance(first_crawl):
    fx, out = first_crawl.shop, first_crawl.out
    files, base = fx.files, fx.base.removeprefix("http://")
    rows = {r["product_id"]: r for r in read_pairs(out)}

    assert sorted(rows) == ["P1", "P2", "P3"]
    expected = {  # P1: JSON-LD without roles; P3: the page's role hints are swapped
        "P1": ("/img/p1-model.jpg", "/img/p1-garment.png", "upper_body"),
        "P2": ("/img/p2-model.jpg", "/img/p2-garment.png", "lower_body"),
        "P3": ("/img/p3-model.jpg", "/img/p3-garment.png", "dresses"),
    }
    for pid, (person, garment, category) in expected.items():
        row = rows[pid]
        assert row["category"] == category
        assert row["person"] == f"fixture-shop/person/{sha(files[person])}.jpg"
        assert row["garment"] == f"fixture-shop/garment/{sha(files[garment])}.png"
        assert (out / row["person"]).read_bytes() == files[person]
        # The start URL's user:password@ is configuration (basic auth), not part of any product's URL.
        assert row["source_url"] == f"http://{base}/product/{pid[1:]}"
        assert row["source_image_url"] == f"http://{base}{person}"
        assert row["garment_image_url"] == f"http://{base}{garment}"
        assert row["licence"] == "fixture shop terms: test use only"
        assert datetime.fromisoformat(row["fetched_at"]).tzinfo is not None
    stored = sorted(p.name for p in out.rglob("*.*") if p.parent.name in ("person", "garment"))
    assert len(stored) == 6  # the duplicate and the near-duplicate are not stored again


def test_unpaired_duplicate_and_refused_items_are_quarantined_with_reasons(first_crawl):
    reasons = {r["page_url"].rsplit("/", 2)[-2] + "/" + r["page_url"].rsplit("/", 1)[-1]: r["reason"]
               for r in read_quarantine(first_crawl.out)}

    assert sorted(reasons) == sorted(["product/4", "product/5", "private/6", "product/7", "product/8",
                                      "product/9", "product/10", "product/11"])
    assert reasons["product/4"].startswith("no on-model image (1 ambiguous; 1 garment)")  # the cat
    assert reasons["product/5"].startswith("on-model image is a duplicate (same file) of an image of")
    assert reasons["product/5"].endswith("/product/1")
    assert reasons["private/6"] == "product page skipped: disallowed by robots.txt"
    assert "redirect to foreign host foreign.invalid refused" in reasons["product/7"]
    assert "p8-garment.jpg: not an image" in reasons["product/8"]
    assert "p9-huge.png: too large (Content-Length" in reasons["product/9"]
    assert "not downloaded" in reasons["product/9"]
    assert reasons["product/10"].startswith("on-model image is a near-duplicate (phash distance")
    assert reasons["product/11"] == "unmapped category 'Hats' (add it to category_map)"


def test_recrawl_revalidates_and_downloads_only_what_changed(fixture_shop, tmp_path):
    shop = fixture_shop.shop
    crawl(fixture_shop, tmp_path)
    first_pairs = (tmp_path / "scraped" / "pairs.csv").read_bytes()

    start = len(shop.hits)
    report = crawl(fixture_shop, tmp_path)
    second = shop.hits[start:]
    assert {h.path: h.status for h in second if h.status not in (304,)} == {"/robots.txt": 200, "/product/7": 302}
    assert all(h.if_none_match for h in second if h.status == 304)
    assert report.crawls[0].events["page"] == 0 and report.crawls[0].events["image"] == 0
    assert (tmp_path / "scraped" / "pairs.csv").read_bytes() == first_pairs  # same content, same fetch times

    # The shop swaps P2's packshot: only that page and the new image are downloaded.
    from tests.data.scrape.conftest import garment, png

    new_garment = png(garment("trousers_gravel", "brick"))
    shop.routes["/img/p2-garment-v2.png"] = Route(new_garment, "image/png")
    shop.routes["/product/2"] = Route(product_html("P2", "Trousers", [("packshot", "/img/p2-garment-v2.png"),
                                                                       ("on-model", "/img/p2-model.jpg")]))
    start = len(shop.hits)
    crawl(fixture_shop, tmp_path)
    downloaded = sorted(h.path for h in shop.hits[start:] if h.status == 200)
    assert downloaded == ["/img/p2-garment-v2.png", "/product/2", "/robots.txt"]
    p2 = next(r for r in read_pairs(tmp_path / "scraped") if r["product_id"] == "P2")
    assert p2["garment"].endswith(f"{sha(new_garment)}.png")


class Interrupted(Exception):
    pass


def test_interrupted_crawl_resumes_without_refetching(fixture_shop, tmp_path):
    from components.data.scrape.crawl import crawl_site

    site = load_site(fixture_shop.site_yaml)
    params = ScrapeParams(max_concurrency=1)
    seen = []

    def stop_after_two_products(kind: str) -> None:
        seen.append(kind)
        if seen.count("page") == 4:  # two listing pages, then two product pages
            raise Interrupted

    with pytest.raises(Interrupted):
        crawl_site(site, params, tmp_path / "state", on_event=stop_after_two_products)
    before = set(fixture_shop.shop.paths())
    assert {"/product/1", "/product/2"} <= before and "/product/10" not in before and not any("/img/" in p for p in before)

    start = len(fixture_shop.shop.hits)
    report = crawl_site(site, params, tmp_path / "state")
    resumed = fixture_shop.shop.paths(start)
    assert report.resumed
    assert not (before - {"/robots.txt"}) & set(resumed)  # what the interrupted crawl fetched is not asked again
    assert before | set(resumed) == set(PAGES + IMAGES)  # and the rest is fetched
    assert all(h.status != 304 for h in fixture_shop.shop.hits[start:])  # nothing is asked for twice in one crawl


def test_scraped_provenance_reaches_the_import_manifest(first_crawl, tmp_path):
    from components.data.importers import import_sources

    fixture_shop = first_crawl.shop
    source = scraped_import_source(str(first_crawl.out), tmp_path)
    assert source is not None
    import_sources(ImportParams(sources=[source], min_side=128), tmp_path / "imported", tmp_path)
    df = read_manifest(tmp_path / "imported")

    assert (df["status"] == "ok").sum() == 3
    row = df[df["category"] == "upper_body"].iloc[0]
    assert row["source"] == "fixture-shop"
    assert row["source_url"].endswith("/product/1") and row["source_image_url"].endswith("/img/p1-model.jpg")
    assert row["fetched_at"] and row["licence"] == "fixture shop terms: test use only"
    assert row["person_sha256"] == sha(fixture_shop.files["/img/p1-model.jpg"])


def test_no_sites_writes_an_empty_scraped_folder_that_import_skips(tmp_path):
    report = scrape_sites([], ScrapeParams(), tmp_path / "scraped", tmp_path / "state")

    assert report.pairs == 0
    assert read_pairs(tmp_path / "scraped") == [] and read_quarantine(tmp_path / "scraped") == []
    assert scraped_import_source(str(tmp_path / "scraped"), tmp_path) is None
