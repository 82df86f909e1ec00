"""Crawl throughput against a local fixture shop with politeness delays set to zero.

    python benchmarks/scrape.py [--products 200] [--concurrency 1 4 8] [--repeats 3] [--command-products 10]

The shop (tests/data/scrape/shop.py, a real HTTP server on 127.0.0.1) serves listing pages of 20 products,
each product page with two 384x512 JPEGs. Figures, each a median with its spread (min-max) over `--repeats`
rounds in which the concurrency settings take turns (the order reversed every other round, so load drift hits
each): pages/s and images/s for a first crawl (everything downloaded), and requests/s for a re-crawl (every
page and image answered 304); the speed-up of the highest concurrency over 1 is the median of per-round
ratios. Classification and pairing are not in those figures (per-image MediaPipe calls, measured in
benchmarks/annotate.py); they are in the last one: `vton data scrape` as a user runs it (process start,
imports, the detector, writing pairs.csv) against the same stage in-process, on `--command-products`
products, as interleaved pairs.

`make bench` runs the defaults (about 1-2 min on the shared 2-core machine); they are also the full sizes.
"""

from __future__ import annotations

import argparse
import io
import os
import shutil
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
from PIL import Image

os.environ.setdefault("VTON_QUIET", "1")
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks.lib.timing import REPO, Spread, command_seconds, load_line, paired, timed  # noqa: E402

SITE = {
    "name": "bench", "licence": "benchmark",
    "listing": {"product_links": "a.product", "next_page": "a[rel=next]", "max_pages": 1000},
    "product": {"extract": "css", "garment_images": {"css": "img.packshot", "attr": "src"},
                "model_images": {"css": "img.on-model", "attr": "src"}},
    "category_map": {"tops": "upper_body"}, "politeness": {"min_delay_seconds": 0.0},
}


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


def crawl_figures(shop, pages: int, products: int, concurrency: list[int], repeats: int) -> None:
    """First crawl and re-crawl seconds per concurrency, rounds interleaved; medians, spread, speed-up."""
    from components.data.params import ScrapeParams
    from components.data.scrape.crawl import crawl_site
    from components.data.scrape.site import SiteConfig

    host = shop.base.removeprefix("http://")
    site = SiteConfig.model_validate({**SITE, "start_urls": [f"http://{host}/list?page=0"]})
    n_pages, n_images = pages + products, 2 * products
    first: dict[int, list[float]] = {w: [] for w in concurrency}
    again: dict[int, list[float]] = {w: [] for w in concurrency}
    for r in range(repeats):
        for workers in (concurrency if r % 2 == 0 else concurrency[::-1]):
            with tempfile.TemporaryDirectory() as tmp:
                params = ScrapeParams(max_concurrency=workers)
                t0 = time.perf_counter()
                done = crawl_site(site, params, Path(tmp))
                t1 = time.perf_counter()
                cached = crawl_site(site, params, Path(tmp))
                t2 = time.perf_counter()
            assert done.events["image"] == n_images and cached.events["image_cached"] == n_images
            first[workers].append(t1 - t0)
            again[workers].append(t2 - t1)
            requests = cached.requests
    print(f"crawl, {repeats} interleaved rounds, {load_line()}:")
    for w in concurrency:
        f, a = Spread(first[w]), Spread(again[w])
        print(f"  concurrency {w}: first crawl {f.text()} = {n_pages / f.median:.0f} pages/s "
              f"({(n_pages + n_images) / f.median:.0f} requests/s incl. images); re-crawl (all 304) {a.text()} = "
              f"{requests / a.median:.0f} requests/s")
    lo, hi = min(concurrency), max(concurrency)
    if lo != hi:
        ratios = Spread([x / y for x, y in zip(first[lo], first[hi])])
        print(f"  first crawl, concurrency {hi} vs {lo}: {ratios.text(unit='x', digits=2)} faster "
              "(median of per-round ratios)")


def command_figures(products: int, repeats: int) -> None:
    """`vton data scrape` as a user runs it against the stage in-process (crawl, classify, pair, write)."""
    import yaml

    from components.data.scrape.stage import run
    from components.params import load_params

    shop, _ = build_shop(products)
    try:
        with tempfile.TemporaryDirectory() as tmp_name:
            tmp = Path(tmp_name)
            host = shop.base.removeprefix("http://")
            site = tmp / "site.yaml"
            site.write_text(yaml.safe_dump({**SITE, "start_urls": [f"http://{host}/list?page=0"]}))
            (tmp / "params.yaml").write_text((REPO / "params.yaml").read_text())
            (tmp / "dvc.yaml").write_text((REPO / "dvc.yaml").read_text())
            params = load_params(tmp / "params.yaml")
            runs = iter(range(10**6))

            def in_process() -> float:
                i = next(runs)
                return timed(lambda: run(params, tmp, configs=[site], out=tmp / f"out{i}", state_dir=tmp / f"st{i}"))

            def command() -> float:
                i = next(runs)
                return command_seconds(["vton", "data", "scrape", "--config", str(site), "--out", str(tmp / f"out{i}"),
                                        "--state-dir", str(tmp / f"st{i}")], tmp, {"VTON_PROJECT_ROOT": str(tmp)})

            in_process()  # the detector's first build and the imports, outside the pairs (the command pays them)
            shutil.rmtree(tmp / "out0", ignore_errors=True)
            pairs = paired(in_process, command, repeats)
            print(f"`vton data scrape`, {products} products ({2 * products} images, classified and paired), first "
                  f"crawl, concurrency {params.scrape.max_concurrency}, interleaved pairs, {load_line()}:")
            print(pairs.text("stage in-process", "whole command"))
    finally:
        shop.stop()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--products", type=int, default=200)
    parser.add_argument("--concurrency", type=int, nargs="+", default=[1, 4, 8])
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--command-products", type=int, default=10,
                        help="products in the whole-command figure (each image is classified: slower)")
    args = parser.parse_args()
    print(load_line())
    shop, pages = build_shop(args.products)
    n_images = 2 * args.products
    print(f"fixture shop: {pages} listing pages, {args.products} product pages, {n_images} images (~"
          f"{sum(len(r.body) for p, r in shop.routes.items() if p.startswith('/img/')) / n_images / 1024:.0f} KB each)")
    try:
        crawl_figures(shop, pages, args.products, args.concurrency, args.repeats)
    finally:
        shop.stop()
    if args.command_products:
        command_figures(args.command_products, args.repeats)
    print(load_line())


if __name__ == "__main__":
    main()
