"""The fixture shop every scrape test crawls, and the site config that describes it."""

from __future__ import annotations

import contextlib
import io
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pytest
import yaml
from PIL import Image

from components.data.sample_data import GARMENTS, draw_garment
from tests.data.scrape.shop import Route, Shop, listing_html, product_html, product_json_ld

USER_AGENT = "vton-test-bot/1.0 (+https://example.invalid/bot)"
CRAWL_DELAY = 0.05


def jpeg(img: Image.Image, quality: int = 90) -> bytes:
    buf = io.BytesIO()
    img.save(buf, format="JPEG", quality=quality)
    return buf.getvalue()


def png(img: Image.Image) -> bytes:
    buf = io.BytesIO()
    img.save(buf, format="PNG")
    return buf.getvalue()


def garment(kind: str, texture: str) -> Image.Image:
    return draw_garment(texture, GARMENTS[kind][2])


@dataclass
class FixtureShop:
    """The running shop, the bytes it serves, and a site config for it."""

    shop: Shop
    files: dict[str, bytes]
    site_yaml: Path

    @property
    def base(self) -> str:
        return self.shop.base


def build_catalogue(shop: Shop, photos: dict) -> dict[str, bytes]:
    """Fill `shop` with the fixture catalogue; return the image bytes by path."""
    camera = photos["camera"]
    files = {
        "/img/p1-model.jpg": jpeg(photos["astronaut"]),
        "/img/p1-garment.png": png(garment("tshirt_brick", "brick")),
        "/img/p2-model.jpg": jpeg(camera),
        "/img/p2-garment.png": png(garment("trousers_gravel", "gravel")),
        "/img/p3-model.jpg": jpeg(photos["grace_hopper"]),
        "/img/p3-garment.png": png(garment("dress_coffee", "coffee")),
        "/img/p4-model.jpg": jpeg(photos["chelsea"]),  # a cat posing as the model
        "/img/p4-garment.png": png(garment("tshirt_brick", "grass")),
        "/img/p5-garment.png": png(garment("skirt_grass", "grass")),
        "/img/p9-huge.png": png(Image.fromarray(np.random.default_rng(0).integers(0, 255, (700, 700, 3), np.uint8))),
        "/img/p10-model.jpg": jpeg(camera.resize((480, 480)), quality=70),  # re-encoded copy of p2's photo
        "/img/p10-garment.png": png(garment("dress_coffee", "grass")),
    }
    files["/img/p5-model.jpg"] = files["/img/p1-model.jpg"]  # the same photo under a second URL
    r = shop.routes
    for path, data in files.items():
        r[path] = Route(data, "image/png" if path.endswith(".png") else "image/jpeg")
    r["/img/p3-garment.png"].throttle_first = 1  # 429 with Retry-After: 1, once
    r["/img/p8-garment.jpg"] = Route(b"<html><body>Access denied</body></html>", "image/jpeg")  # not an image
    r["/robots.txt"] = Route(f"User-agent: *\nDisallow: /private/\nCrawl-delay: {CRAWL_DELAY}\n".encode(), "text/plain")
    r["/catalog?page=1"] = Route(listing_html(
        ["/product/1", "/product/2", "/product/3", "/product/4", "/product/1"], "/catalog?page=2"))
    r["/catalog?page=2"] = Route(listing_html(
        ["/product/5", "/private/6", "/product/7", "/product/8", "/product/9", "/product/10", "/product/11"], None))
    r["/product/1"] = Route(product_json_ld("P1", "Apparel > T-Shirts", ["/img/p1-garment.png", "/img/p1-model.jpg"]))
    r["/product/2"] = Route(product_html("P2", "Trousers", [("packshot", "/img/p2-garment.png"),
                                                             ("on-model", "/img/p2-model.jpg")]))
    # Wrong hints: the page calls the photo a packshot. Classification must still pair it right.
    r["/product/3"] = Route(product_html("P3", "Dresses", [("packshot", "/img/p3-model.jpg"),
                                                            ("on-model", "/img/p3-garment.png")]))
    r["/product/4"] = Route(product_html("P4", "T-Shirts", [("packshot", "/img/p4-garment.png"),
                                                             ("on-model", "/img/p4-model.jpg")]))
    r["/product/5"] = Route(product_json_ld("P5", "Women > Skirts", ["/img/p5-model.jpg", "/img/p5-garment.png"]))
    r["/private/6"] = Route(product_html("P6", "T-Shirts", [("on-model", "/img/p1-model.jpg")]))
    r["/product/7"] = Route(status=302, location="http://foreign.invalid/product/7")
    r["/product/8"] = Route(product_html("P8", "T-Shirts", [("packshot", "/img/p8-garment.jpg"),
                                                             ("on-model", "/img/p2-model.jpg")]))
    r["/product/9"] = Route(product_html("P9", "Dresses", [("packshot", "/img/p9-huge.png"),
                                                            ("on-model", "/img/p3-model.jpg")]))
    r["/product/10"] = Route(product_html("P10", "Dresses", [("packshot", "/img/p10-garment.png"),
                                                              ("on-model", "/img/p10-model.jpg")]))
    r["/product/11"] = Route(product_html("P11", "Hats", []))
    return files


def site_config(base: str, **overrides) -> dict:
    """The site YAML content for the fixture shop (credentials in the start URL, to prove they never leak)."""
    host_port = base.removeprefix("http://")
    cfg = {
        "name": "fixture-shop",
        "start_urls": [f"http://shopper:s3cret@{host_port}/catalog?page=1"],
        "licence": "fixture shop terms: test use only",
        "listing": {"product_links": "a.product", "next_page": "a[rel=next]"},
        "product": {
            "product_id": {"css": "[itemprop=sku]"},
            "category": {"css": ".category"},
            "garment_images": {"css": "img.packshot", "attr": "src"},
            "model_images": {"css": "img.on-model", "attr": "src"},
        },
        "category_map": {"t-shirts": "upper_body", "trousers": "lower_body", "dresses": "dresses",
                         "skirts": "lower_body"},
        "politeness": {"min_delay_seconds": 0.0, "max_retries": 2, "backoff_seconds": 0.01,
                       "max_retry_after_seconds": 5, "user_agent": USER_AGENT},
        "limits": {"max_image_mb": 0.5, "min_side": 128},
    }
    cfg.update(overrides)
    return cfg


@contextlib.contextmanager
def running_shop(photos: dict, folder: Path):
    """Start the fixture shop, write its site YAML into `folder`, stop it afterwards."""
    shop = Shop().start()
    files = build_catalogue(shop, photos)
    site_yaml = folder / "fixture-shop.yaml"
    site_yaml.write_text(yaml.safe_dump(site_config(shop.base)))
    try:
        yield FixtureShop(shop, files, site_yaml)
    finally:
        shop.stop()


@pytest.fixture
def fixture_shop(real_photos, tmp_path: Path):
    """The running fixture shop with its site YAML in tmp_path."""
    with running_shop(real_photos, tmp_path) as fx:
        yield fx
