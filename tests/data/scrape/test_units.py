"""The scraper's pure parts: robots Crawl-delay, URL redaction, Retry-After, extraction, site config, verdicts."""

from __future__ import annotations

import pytest

from components.data.scrape.classify import decide
from components.data.scrape.extract import parse_listing, parse_product
from components.data.scrape.fetch import retry_after_seconds
from components.data.scrape.robots import crawl_delay_for, parse_robots
from components.data.scrape.site import ListingConfig, ProductConfig, Selector, SiteConfig, load_site
from components.data.scrape.urls import absolute, redact
from components.errors import ConfigError

UA = "vton-pipeline-bot/0.1 (+https://example.invalid)"


def test_crawl_delay_takes_our_group_over_star_and_allows_fractions():
    text = "User-agent: *\nCrawl-delay: 5\n\nUser-agent: vton-pipeline-bot\nCrawl-delay: 0.5\nDisallow: /x/\n"
    assert crawl_delay_for(text, UA) == 0.5
    assert crawl_delay_for(text, "otherbot/1.0") == 5.0
    rules = parse_robots(text, UA)
    assert not rules.allows("http://h/x/1", UA) and rules.allows("http://h/y", UA)


def test_redact_hides_userinfo_and_secret_query_values():
    url = "https://bob:hunter2@cdn.example.com/a.jpg?w=800&token=abc&X-Amz-Signature=zzz"
    out = redact(url)
    assert "hunter2" not in out and "abc" not in out and "zzz" not in out
    assert out.startswith("https://***@cdn.example.com/a.jpg?w=800")


def test_absolute_drops_fragments_and_non_http_links():
    assert absolute("http://h/a/b", "../c#top") == "http://h/c"
    assert absolute("http://h/", "javascript:alert(1)") is None
    assert absolute("http://h/", "mailto:x@y") is None


def test_retry_after_reads_seconds_and_http_dates():
    assert retry_after_seconds("7") == 7.0
    assert retry_after_seconds("Wed, 21 Oct 2015 07:28:10 GMT", now=1445412480.0) == pytest.approx(10.0)
    assert retry_after_seconds("soon") is None


def test_listing_and_json_ld_product_extraction():
    listing = parse_listing('<a class=p href="/p/1">1</a><a class=p href="/p/1">again</a><a rel=next href="?page=2">n</a>',
                            "http://h/list", ListingConfig(product_links="a.p", next_page="a[rel=next]"))
    assert listing.product_urls == ["http://h/p/1"] and listing.next_url == "http://h/list?page=2"
    html = ('<script type="application/ld+json">{"@graph": [{"@type": "BreadcrumbList"}, {"@type": "Product",'
            ' "sku": "S1", "category": "Women > Dresses", "image": [{"@type": "ImageObject", "url": "/a.jpg"}, "/b.png"]}]}'
            '</script><img class=pack src="/b.png">')
    page = parse_product(html, "http://h/p/1", ProductConfig(garment_images=Selector(css="img.pack", attr="src")))
    assert page.product_id == "S1" and page.category_text == "Women > Dresses" and page.extracted_with == "json_ld"
    assert [(i.url, i.role) for i in page.images] == [("http://h/a.jpg", "unknown"), ("http://h/b.png", "garment")]


def test_category_map_matches_whole_text_then_breadcrumb_parts():
    site = SiteConfig(name="s", start_urls=["http://h/"], licence="l", listing=ListingConfig(product_links="a"),
                      category_map={"Dresses": "dresses", "tops": "upper_body"})
    assert site.map_category("Women > Tops") == "upper_body"
    assert site.map_category(" dresses ") == "dresses"
    assert site.map_category("Hats") is None
    assert site.hosts() == {"h"}


def test_site_yaml_errors_name_the_file_and_field(tmp_path):
    bad = tmp_path / "bad.yaml"
    bad.write_text("name: shop\nstart_urls: [ftp://h/]\nlicence: x\nlisting: {product_links: a}\ncategory_map: {a: hats}\n")
    with pytest.raises(ConfigError) as err:
        load_site(bad)
    assert "bad.yaml: start_urls" in str(err.value) and "category_map.a" in str(err.value)


def test_example_site_configs_are_valid():
    from pathlib import Path

    sites = sorted((Path(__file__).resolve().parents[3] / "components/data/scrape/sites").glob("*.yaml"))
    assert sites
    for path in sites:
        load_site(path)


def test_verdict_needs_both_detectors_to_agree():
    assert decide(0.9, 0.4, 0.5, 0.05).kind == "person"
    assert decide(0.0, 0.0, 0.5, 0.05).kind == "garment"
    assert decide(0.0, 0.9, 0.5, 0.05).kind == "ambiguous"  # a cat: person-like pixels, no body
    assert decide(0.9, 0.0, 0.5, 0.05).kind == "ambiguous"


def test_detector_on_real_photos_and_drawn_garments(real_photos):
    from components.data.sample_data import GARMENTS, draw_garment
    from components.data.scrape.classify import PersonDetector

    with PersonDetector() as detector:
        assert detector.classify(real_photos["grace_hopper"]).kind == "person"
        assert detector.classify(draw_garment("brick", GARMENTS["tshirt_brick"][2])).kind == "garment"
        assert detector.classify(real_photos["chelsea"]).kind == "ambiguous"
