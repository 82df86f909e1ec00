"""A fixture shop: a real HTTP server on 127.0.0.1 that serves a small catalogue and records every request.

Every response carries an ETag and Last-Modified and honours If-None-Match with 304, like a CDN would.
"""

from __future__ import annotations

import hashlib
import json
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

LAST_MODIFIED = "Wed, 01 Jan 2025 00:00:00 GMT"


@dataclass
class Route:
    """What one path serves."""

    body: bytes = b""
    content_type: str = "text/html; charset=utf-8"
    status: int = 200
    location: str | None = None  # for redirects
    throttle_first: int = 0  # answer the first N requests with 429 + Retry-After
    retry_after: str = "1"
    validators: bool = True


@dataclass
class Hit:
    """One request the shop received."""

    path: str
    status: int
    at: float
    if_none_match: str | None
    user_agent: str | None
    authorization: str | None = None


@dataclass
class Shop:
    """The server, its routes and its request log."""

    routes: dict[str, Route] = field(default_factory=dict)
    hits: list[Hit] = field(default_factory=list)
    server: ThreadingHTTPServer | None = None
    _served: dict[str, int] = field(default_factory=dict)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    @property
    def base(self) -> str:
        host, port = self.server.server_address[:2]
        return f"http://{host}:{port}"

    def paths(self, since: int = 0) -> list[str]:
        """Paths requested (in order) from hit number `since` on."""
        return [h.path for h in self.hits[since:]]

    def start(self) -> "Shop":
        shop = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args) -> None:  # keep test output clean
                pass

            def do_GET(self) -> None:  # noqa: N802 - http.server's name
                route = shop.routes.get(self.path)
                inm = self.headers.get("If-None-Match")
                with shop._lock:
                    n = shop._served.get(self.path, 0)
                    shop._served[self.path] = n + 1
                if route is None:
                    status, headers, body = 404, {"Content-Type": "text/plain"}, b"not found"
                elif n < route.throttle_first:
                    status, headers, body = 429, {"Retry-After": route.retry_after}, b"slow down"
                elif route.location:
                    status, headers, body = route.status, {"Location": route.location}, b""
                else:
                    etag = '"' + hashlib.sha1(route.body).hexdigest()[:16] + '"'
                    headers = {"Content-Type": route.content_type}
                    if route.validators:
                        headers.update({"ETag": etag, "Last-Modified": LAST_MODIFIED})
                    if route.validators and inm == etag:
                        status, body = 304, b""
                    else:
                        status, body = route.status, route.body
                with shop._lock:
                    shop.hits.append(Hit(self.path, status, time.monotonic(), inm, self.headers.get("User-Agent"),
                                         self.headers.get("Authorization")))
                self.send_response(status)
                for k, v in headers.items():
                    self.send_header(k, v)
                if status != 304:
                    self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                if status != 304:
                    try:
                        self.wfile.write(body)
                    except (BrokenPipeError, ConnectionResetError):
                        pass  # the client refused the body (size limit): that is the point

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        return self

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()


def html(body: str, json_ld: dict | None = None) -> bytes:
    """A small HTML page, with a schema.org JSON-LD block when given."""
    head = f'<script type="application/ld+json">{json.dumps(json_ld)}</script>' if json_ld else ""
    return f"<!doctype html><html><head><title>shop</title>{head}</head><body>{body}</body></html>".encode()


def product_html(sku: str, category: str, images: list[tuple[str, str]]) -> bytes:
    """A plain-HTML product page: <img class=ROLE src=URL> for each (role, url)."""
    imgs = "".join(f'<img class="{role}" src="{url}">' for role, url in images)
    return html(f'<h1>{sku}</h1><span itemprop="sku">{sku}</span><span class="category">{category}</span>{imgs}')


def product_json_ld(sku: str, category: str, images: list[str]) -> bytes:
    """A product page whose facts are only in JSON-LD (images carry no role)."""
    ld = {"@context": "https://schema.org", "@type": "Product", "sku": sku, "name": sku, "category": category,
          "image": images, "offers": {"@type": "Offer", "price": "19.99", "priceCurrency": "EUR"}}
    return html(f"<h1>{sku}</h1><p>see pictures</p>", ld)


def listing_html(products: list[str], next_url: str | None) -> bytes:
    """A listing page: product links and an optional rel=next link."""
    links = "".join(f'<li><a class="product" href="{p}">{p}</a></li>' for p in products)
    nxt = f'<a rel="next" href="{next_url}">next</a>' if next_url else ""
    return html(f"<ul>{links}</ul>{nxt}")
