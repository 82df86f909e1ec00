"""The crawl state holds no secret: credentials and query tokens are stripped before anything is stored,
and a crawl that resumes from that state still fetches the signed links (it asks the page for them again)."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest
import yaml

from components.data.params import ScrapeParams
from components.data.scrape.crawl import crawl_site
from components.data.scrape.output import read_pairs
from components.data.scrape.run import scrape_sites
from components.data.scrape.site import load_site
from components.data.scrape.state import CrawlState
from tests.data.scrape.conftest import USER_AGENT, garment, jpeg, png
from tests.data.scrape.shop import Route, Shop, listing_html, product_html

SECRETS = ("s3cret", "SESS789", "T0KEN123", "S1GN456", "K3Y000")
MODEL = "/img/signed-model.jpg?token=T0KEN123&sig=S1GN456"
GARMENT = "/img/signed-garment.png?api_key=K3Y000&w=512"


@pytest.fixture
def signed_shop(real_photos, tmp_path):
    """A shop whose listing URL carries a session id and whose images are signed CDN links (404 unsigned)."""
    shop = Shop().start()
    r = shop.routes
    r["/robots.txt"] = Route(b"User-agent: *\nAllow: /\n", "text/plain")
    r["/catalog?page=1&session=SESS789"] = Route(listing_html(["/product/1?session=SESS789"], None))
    r["/product/1?session=SESS789"] = Route(product_html("S1", "T-Shirts", [("on-model", MODEL),
                                                                            ("packshot", GARMENT)]))
    r[MODEL] = Route(jpeg(real_photos["astronaut"]), "image/jpeg")
    r[GARMENT] = Route(png(garment("tshirt_brick", "brick")), "image/png")
    host_port = shop.base.removeprefix("http://")
    cfg = {
        "name": "signed-shop",
        "start_urls": [f"http://shopper:s3cret@{host_port}/catalog?page=1&session=SESS789"],
        "licence": "test",
        "listing": {"product_links": "a.product"},
        "product": {"product_id": {"css": "[itemprop=sku]"}, "category": {"css": ".category"},
                    "garment_images": {"css": "img.packshot", "attr": "src"},
                    "model_images": {"css": "img.on-model", "attr": "src"}},
        "category_map": {"t-shirts": "upper_body"},
        "politeness": {"min_delay_seconds": 0.0, "max_retries": 0, "user_agent": USER_AGENT},
        "limits": {"min_side": 128},
    }
    site_yaml = tmp_path / "signed-shop.yaml"
    site_yaml.write_text(yaml.safe_dump(cfg))
    try:
        yield shop, site_yaml
    finally:
        shop.stop()


def _stored_bytes(folder: Path) -> bytes:
    """Every byte under `folder`: the SQLite file, its WAL and the blobs, and the blob file names."""
    return b"".join(p.read_bytes() + p.name.encode() for p in sorted(folder.rglob("*")) if p.is_file())


def test_no_credential_or_query_token_reaches_the_crawl_state_or_the_output(signed_shop, tmp_path):
    shop, site_yaml = signed_shop
    report = scrape_sites([load_site(site_yaml)], ScrapeParams(), tmp_path / "scraped", tmp_path / "state")
    assert report.pairs == 1  # the signed images were fetched with their tokens
    assert {h.path for h in shop.hits if h.status == 200} >= {MODEL, GARMENT}
    stored = _stored_bytes(tmp_path / "state") + _stored_bytes(tmp_path / "scraped")
    for secret in SECRETS:
        assert secret.encode() not in stored, secret
    db = sqlite3.connect(tmp_path / "state" / "signed-shop" / "state.sqlite")
    image_urls = sorted(u for (u,) in db.execute("SELECT url FROM images"))
    assert [u.split("/img/")[1] for u in image_urls] == ["signed-garment.png?api_key=***&w=512",
                                                          "signed-model.jpg?token=***&sig=***"]
    (row,) = read_pairs(tmp_path / "scraped")
    assert row["source_image_url"].endswith("/img/signed-model.jpg?token=***&sig=***")


def test_a_resumed_crawl_asks_the_page_again_for_links_whose_tokens_were_not_stored(signed_shop, tmp_path):
    shop, site_yaml = signed_shop
    site = load_site(site_yaml)

    class Interrupted(Exception):
        pass

    def stop_after_the_product_page(kind: str) -> None:
        if kind == "page" and any(h.path.startswith("/product/") for h in shop.hits):
            raise Interrupted

    with pytest.raises(Interrupted):
        crawl_site(site, ScrapeParams(max_concurrency=1), tmp_path / "state", on_event=stop_after_the_product_page)
    assert not any(h.path.startswith("/img/") for h in shop.hits)
    start = len(shop.hits)
    report = crawl_site(site, ScrapeParams(max_concurrency=1), tmp_path / "state")
    resumed = [h.path for h in shop.hits[start:]]
    assert report.resumed
    # The listing's stored links lost the session id, so it is asked again; then the product page, for its
    # signed image links; both images arrive with their tokens.
    assert resumed[:3] == ["/robots.txt", "/catalog?page=1&session=SESS789", "/product/1?session=SESS789"]
    assert sorted(resumed[3:]) == sorted([MODEL, GARMENT])
    assert report.events["image"] == 2 and report.events["failed"] == 0
    state = CrawlState(tmp_path / "state" / "signed-shop")
    try:
        assert state.image(f"{shop.base}{MODEL}").status == "ok"  # looked up by the URL fetched, stored redacted
    finally:
        state.close()
    assert not any(s.encode() in _stored_bytes(tmp_path / "state") for s in SECRETS)
