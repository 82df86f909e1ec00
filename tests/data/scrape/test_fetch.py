"""The fetcher against a real local HTTP server: spacing measured from the actual send, network failures
reported as such, credentials sent only to their host."""

from __future__ import annotations

import socket
import threading
import time
from concurrent.futures import ThreadPoolExecutor

import httpx
import pytest
import yaml

from components.data.params import ScrapeParams
from components.data.scrape.fetch import NETWORK_FAILURE, Fetcher, FetchPolicy
from components.data.scrape.output import read_quarantine
from components.data.scrape.run import scrape_sites
from components.data.scrape.site import load_site
from components.data.scrape.state import CrawlState
from tests.data.scrape.conftest import USER_AGENT
from tests.data.scrape.shop import Route, Shop, listing_html

DELAY = 0.2


@pytest.fixture
def shop():
    s = Shop().start()
    s.routes["/robots.txt"] = Route(b"User-agent: *\nAllow: /\n", "text/plain")
    for i in range(4):
        s.routes[f"/page/{i}"] = Route(b"<html>page</html>")
    try:
        yield s
    finally:
        s.stop()


def closed_port() -> int:
    """A local port nothing listens on (bound, then released)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class SlowToSend(httpx.BaseTransport):
    """A transport that stalls before sending the first page request, as a slow DNS lookup, proxy or TLS
    handshake would: the time a thread is let go is not the time its request reaches the host."""

    def __init__(self, stall: float) -> None:
        self.inner = httpx.HTTPTransport()
        self.stall = stall
        self._lock = threading.Lock()
        self._stalled = False

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        with self._lock:
            stall = not self._stalled and request.url.path.startswith("/page/")
            self._stalled = self._stalled or stall
        if stall:
            time.sleep(self.stall)
        return self.inner.handle_request(request)

    def close(self) -> None:
        self.inner.close()


def test_requests_to_a_host_are_spaced_from_their_actual_send_across_threads(shop):
    host = shop.base.removeprefix("http://").split(":")[0]
    policy = FetchPolicy(user_agent=USER_AGENT, allowed_hosts=frozenset({host}), min_delay=DELAY, max_retries=0)
    with Fetcher(policy, transport=SlowToSend(stall=1.5 * DELAY)) as fetcher:
        with ThreadPoolExecutor(4) as pool:
            results = list(pool.map(lambda i: fetcher.get(f"{shop.base}/page/{i}", ("text/html",), 2**20), range(4)))
    assert [r.outcome for r in results] == ["ok"] * 4
    times = sorted(h.at for h in shop.hits)
    assert [h.path for h in shop.hits][0] == "/robots.txt" and len(times) == 5
    # Every gap the server saw, not only on average: a slot handed out before the stalled send would let the
    # next thread's request arrive right behind it.
    gaps = [b - a for a, b in zip(times, times[1:])]
    assert min(gaps) >= DELAY * 0.9, gaps


def test_an_offline_host_is_a_network_failure_not_a_robots_refusal(tmp_path):
    port = closed_port()
    site_yaml = tmp_path / "offline.yaml"
    site_yaml.write_text(yaml.safe_dump({
        "name": "offline-shop", "start_urls": [f"http://127.0.0.1:{port}/catalog"], "licence": "test",
        "listing": {"product_links": "a.product"}, "category_map": {"t-shirts": "upper_body"},
        "politeness": {"min_delay_seconds": 0.0, "max_retries": 1, "backoff_seconds": 0.01, "user_agent": USER_AGENT},
    }))
    report = scrape_sites([load_site(site_yaml)], ScrapeParams(), tmp_path / "scraped", tmp_path / "state")
    assert report.crawls[0].events["failed"] == 1 and report.crawls[0].events["skipped"] == 0
    state = CrawlState(tmp_path / "state" / "offline-shop")
    try:
        page = state.page(f"http://127.0.0.1:{port}/catalog")
    finally:
        state.close()
    assert page.status == "failed"
    assert page.reason.startswith(f"{NETWORK_FAILURE} (ConnectError) after 2 attempts fetching robots.txt")
    assert "disallowed" not in page.reason


def test_a_product_on_an_unreachable_host_is_quarantined_naming_the_network_failure(shop, tmp_path):
    port = closed_port()
    shop.routes["/catalog"] = Route(listing_html([f"http://localhost:{port}/product/1"], None))
    site_yaml = tmp_path / "half-offline.yaml"
    site_yaml.write_text(yaml.safe_dump({
        "name": "half-offline", "start_urls": [f"{shop.base}/catalog"], "licence": "test",
        "allowed_hosts": ["127.0.0.1", "localhost"], "listing": {"product_links": "a.product"},
        "category_map": {"t-shirts": "upper_body"},
        "politeness": {"min_delay_seconds": 0.0, "max_retries": 0, "user_agent": USER_AGENT},
    }))
    scrape_sites([load_site(site_yaml)], ScrapeParams(), tmp_path / "scraped", tmp_path / "state")
    (row,) = read_quarantine(tmp_path / "scraped")
    assert row["reason"].startswith(f"product page failed: {NETWORK_FAILURE} (ConnectError)"), row["reason"]


def test_a_robots_txt_server_error_says_so_and_a_missing_one_allows_all(shop):
    shop.routes["/robots.txt"] = Route(b"down", "text/plain", status=503)
    host = shop.base.removeprefix("http://").split(":")[0]
    policy = FetchPolicy(user_agent=USER_AGENT, allowed_hosts=frozenset({host}), min_delay=0.0, max_retries=0)
    with Fetcher(policy) as fetcher:
        result = fetcher.get(f"{shop.base}/page/0", ("text/html",), 2**20)
    assert result.outcome == "failed"
    assert result.reason == "robots.txt unreachable (HTTP 503 after 1 attempts): host treated as disallowed"
    del shop.routes["/robots.txt"]
    with Fetcher(policy) as fetcher:
        assert fetcher.get(f"{shop.base}/page/0", ("text/html",), 2**20).outcome == "ok"


def test_start_url_credentials_go_only_to_their_host_as_basic_auth(shop, tmp_path):
    other = Shop().start()  # a second host (localhost) the shop's listing links to
    try:
        other.routes["/robots.txt"] = Route(b"User-agent: *\nAllow: /\n", "text/plain")
        other.routes["/product/1"] = Route(b"<html>no images</html>")
        port = other.base.rsplit(":", 1)[1]
        shop.routes["/catalog"] = Route(listing_html([f"http://localhost:{port}/product/1"], None))
        base = shop.base.removeprefix("http://")
        site_yaml = tmp_path / "auth.yaml"
        site_yaml.write_text(yaml.safe_dump({
            "name": "auth-shop", "start_urls": [f"http://shopper:s3cret@{base}/catalog"], "licence": "test",
            "allowed_hosts": ["127.0.0.1", "localhost"], "listing": {"product_links": "a.product"},
        "category_map": {"t-shirts": "upper_body"},
            "politeness": {"min_delay_seconds": 0.0, "max_retries": 0, "user_agent": USER_AGENT},
        }))
        scrape_sites([load_site(site_yaml)], ScrapeParams(), tmp_path / "scraped", tmp_path / "state")
        assert shop.hits and all(h.authorization and h.authorization.startswith("Basic ") for h in shop.hits)
        assert other.hits and all(h.authorization is None for h in other.hits)
    finally:
        other.stop()
