"""Crawl throughput against a local fixture shop with politeness delays set to zero.

    python benchmarks/scrape.py [--products 200] [--concurrency 1 4 8]

The shop (tests/data/scrape/shop.py, a real HTTP server on 127.0.0.1) serves listing pages of 20 products,
each product page with two 384x512 JPEGs. Figures: pages/s and images/s for a first crawl (everything
downloaded), and requests/s for a re-crawl (every page and image answered 304). Classification and pairing
are not included (they are per-image MediaPipe calls, measured in benchmarks/annotate.py).
"""

from __future__ import annotations

import argparse
import io
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
from PIL import Image

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))


def build_shop(products: int):
    from tests.data.scrape.shop import Route, Shop, listing_html, product_html

    shop = Shop().start()
    rng = np.random.default_rng(0)
    per_page = 20
    pages = (products + per_page - 1) // per_page
    for p in range(pages):
        ids = range(p * per_page, min(products, (p + 1) * per_page))
        nxt = f"/list?page={p + 1}" if p + 1 < pages else None
        shop.routes[f"/list?page={p}"] = Route(listing_html([f"/p/{i}" for i in ids], nxt))
    for i in range(products):
        for role in ("g", "m"):
            buf = io.BytesIO()
            Image.fromarray(rng.integers(0, 255, (96, 128, 3), np.uint8)).resize((384, 512)).save(buf, "JPEG", quality=85)
            shop.routes[f"/img/{i}{role}.jpg"] = Route(buf.getvalue(), "image/jpeg")
        shop.routes[f"/p/{i}"] = Route(product_html(f"P{i}", "Tops", [("packshot", f"/img/{i}g.jpg"),
                                                                       ("on-model", f"/img/{i}m.jpg")]))
    shop.routes["/robots.txt"] = Route(b"User-agent: *\nDisallow: /private/\n", "text/plain")
    return shop, pages


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--products", type=int, default=200)
    parser.add_argument("--concurrency", type=int, nargs="+", default=[1, 4, 8])
    args = parser.parse_args()

    from components.data.params import ScrapeParams
    from components.data.scrape.crawl import crawl_site
    from components.data.scrape.site import SiteConfig

    shop, pages = build_shop(args.products)
    host = shop.base.removeprefix("http://")
    site = SiteConfig.model_validate({
        "name": "bench", "start_urls": [f"http://{host}/list?page=0"], "licence": "benchmark",
        "listing": {"product_links": "a.product", "next_page": "a[rel=next]", "max_pages": 1000},
        "product": {"extract": "css", "garment_images": {"css": "img.packshot", "attr": "src"},
                    "model_images": {"css": "img.on-model", "attr": "src"}},
        "category_map": {"tops": "upper_body"}, "politeness": {"min_delay_seconds": 0.0},
    })
    n_pages = pages + args.products
    n_images = 2 * args.products
    print(f"fixture shop: {pages} listing pages, {args.products} product pages, {n_images} images (~"
          f"{sum(len(r.body) for p, r in shop.routes.items() if p.startswith('/img/')) / n_images / 1024:.0f} KB each)")
    try:
        for workers in args.concurrency:
            with tempfile.TemporaryDirectory() as tmp:
                params = ScrapeParams(max_concurrency=workers)
                t0 = time.perf_counter()
                first = crawl_site(site, params, Path(tmp))
                t1 = time.perf_counter()
                second = crawl_site(site, params, Path(tmp))
                t2 = time.perf_counter()
            assert first.events["image"] == n_images and second.events["image_cached"] == n_images
            print(f"concurrency {workers}: first crawl {t1 - t0:.2f}s = {n_pages / (t1 - t0):.0f} pages/s "
                  f"({(n_pages + n_images) / (t1 - t0):.0f} requests/s incl. images); "
                  f"re-crawl (all 304) {t2 - t1:.2f}s = {second.requests / (t2 - t1):.0f} requests/s")
    finally:
        shop.stop()


if __name__ == "__main__":
    main()
