"""HTTP for the crawler: robots.txt, per-host pacing, retries honouring Retry-After, conditional requests,
allowed hosts only (redirects checked hop by hop) and size/content-type limits before a body is read.
"""

from __future__ import annotations

import contextlib
import email.utils
import logging
import math
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime, timezone

import httpx

from components.data.scrape.robots import RobotsRules, allow_all, disallow_all, parse_robots
from components.data.scrape.urls import absolute, host_of, redact

log = logging.getLogger("vton.scrape")

RETRY_STATUSES = frozenset({429, 500, 502, 503, 504})
# The start of every reason for a request nothing answered (no HTTP status): offline, DNS, refused, timed out.
NETWORK_FAILURE = "network failure"
REDIRECT_STATUSES = frozenset({301, 302, 303, 307, 308})
MAX_REDIRECTS = 5
CHUNK = 64 * 1024


@dataclass(frozen=True)
class FetchPolicy:
    """The politeness and safety settings one fetcher applies to every request."""

    user_agent: str
    allowed_hosts: frozenset[str]
    min_delay: float = 1.0
    max_retries: int = 3
    backoff: float = 2.0
    max_retry_after: float = 120.0
    timeout: float = 20.0
    # host -> (user, password), sent as basic auth to that host only; never logged (repr=False)
    credentials: dict[str, tuple[str, str]] = field(default_factory=dict, repr=False, compare=False, hash=False)


@dataclass
class FetchResult:
    """The outcome of one GET: `ok` (body read), `not_modified` (304), `skipped` (not fetched) or `failed`."""

    url: str
    outcome: str
    final_url: str | None = None
    body: bytes = b""
    content_type: str = ""
    etag: str | None = None
    last_modified: str | None = None
    http_status: int | None = None
    reason: str = ""
    fetched_at: str = ""
    attempts: int = 0


@dataclass
class FetchCounters:
    """Requests sent, by outcome; read by the progress bar and the benchmark."""

    requests: int = 0
    retries: int = 0
    not_modified: int = 0
    refused: dict[str, int] = field(default_factory=dict)


def utc_now() -> str:
    """The current UTC time, ISO-8601 with seconds."""
    return datetime.now(timezone.utc).replace(microsecond=0).isoformat()


def retry_after_seconds(value: str | None, now: float | None = None) -> float | None:
    """Seconds to wait from a Retry-After header (delta-seconds or an HTTP date); None when absent or invalid."""
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=timezone.utc)
    return max(0.0, when.timestamp() - (now if now is not None else time.time()))


def media_type(header: str | None) -> str:
    """`image/jpeg` from `image/jpeg; charset=...`."""
    return (header or "").split(";", 1)[0].strip().lower()


class HostPacer:
    """Spaces requests to the same host by at least its delay, measured from when each request was really sent.

    A thread holds its host's turn from the wait until its response headers arrive, and the turn ends by
    recording when the request headers went out (httpcore's trace; the moment before `send` when a transport
    gives no trace). The next request to that host waits until then + delay, so however late a thread sends
    after its wait, the host never sees two requests closer than the delay; one request per host is in flight
    (unless the delay is zero).
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._turns: dict[str, threading.Lock] = {}
        self._last_sent: dict[str, float] = {}
        self._not_before: dict[str, float] = {}

    def _turn(self, host: str) -> threading.Lock:
        with self._lock:
            return self._turns.setdefault(host, threading.Lock())

    @contextlib.contextmanager
    def turn(self, host: str, delay: float) -> Iterator["SendClock"]:
        """Wait for `host`'s turn and hold it; the caller sends one request and stamps the SendClock. With no
        delay there is nothing to space: requests run in parallel (a backoff still holds them all)."""
        with self._turn(host) if delay > 0 else contextlib.nullcontext():
            while True:
                with self._lock:
                    ready = max(self._last_sent.get(host, -math.inf) + delay, self._not_before.get(host, 0.0))
                now = time.monotonic()
                if now >= ready:
                    break
                time.sleep(ready - now)
            clock = SendClock()
            try:
                yield clock
            finally:
                if clock.sent is not None:
                    with self._lock:
                        self._last_sent[host] = clock.sent

    def defer(self, host: str, seconds: float) -> None:
        """Push every thread's next request to `host` at least `seconds` into the future (429, 503)."""
        with self._lock:
            self._not_before[host] = max(self._not_before.get(host, 0.0), time.monotonic() + seconds)


class SendClock:
    """When one request's headers were sent: stamped just before `send`, then by httpcore's trace as they go out."""

    def __init__(self) -> None:
        self.sent: float | None = None

    def stamp(self) -> None:
        """Record now as the send time (called just before handing the request to the client)."""
        self.sent = time.monotonic()

    def trace(self, event: str, info: dict) -> None:
        """httpcore trace hook: the request headers are being written now."""
        if event.endswith("send_request_headers.started"):
            self.sent = time.monotonic()


class Fetcher:
    """A polite, safe HTTP client for one crawl; thread-safe."""

    def __init__(self, policy: FetchPolicy, transport: httpx.BaseTransport | None = None) -> None:
        self.policy = policy
        self.counters = FetchCounters()
        self._pacer = HostPacer()
        self._robots: dict[str, RobotsRules] = {}
        self._robots_lock = threading.Lock()
        self._count_lock = threading.Lock()
        self._client = httpx.Client(
            headers={"User-Agent": policy.user_agent},
            follow_redirects=False,  # every hop is checked against allowed hosts and robots.txt
            timeout=policy.timeout,
            transport=transport,
        )

    def close(self) -> None:
        """Release the connection pool."""
        self._client.close()

    def __enter__(self) -> "Fetcher":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- rules -----------------------------------------------------------------------------------------

    def robots_for(self, url: str) -> RobotsRules:
        """The robots.txt rules of `url`'s host, fetched once per crawl."""
        host = host_of(url)
        with self._robots_lock:  # one robots.txt request per host even with many threads
            if host not in self._robots:
                # The robots.txt request is paced like any other: the next request waits from when it was sent.
                self._robots[host] = self._load_robots(url)
            return self._robots[host]

    def _load_robots(self, url: str) -> RobotsRules:
        robots_url = absolute(url, "/robots.txt") or url
        result = self._get(robots_url, ("text/plain",), 512 * 1024, check_robots=False, lenient_type=True)
        if result.outcome == "ok":
            rules = parse_robots(result.body.decode("utf-8", "replace"), self.policy.user_agent)
        elif result.http_status is not None and 400 <= result.http_status < 500:
            rules = allow_all(f"no robots.txt (HTTP {result.http_status})")
        elif result.http_status is None and result.reason.startswith(NETWORK_FAILURE):
            # Nothing answered: the host's rules are unknown, so nothing is fetched, and the reason says why.
            rules = disallow_all(f"{result.reason} fetching {host_of(url)}/robots.txt: host not crawled",
                                 blocked=f"{result.reason} fetching robots.txt")
        else:
            rules = disallow_all(f"robots.txt unreachable ({result.reason}): host treated as disallowed",
                                 blocked=f"robots.txt unreachable ({result.reason}): host treated as disallowed")
        log.info("robots.txt for %s: %s, crawl-delay %.3gs", host_of(url), rules.note, rules.crawl_delay)
        return rules

    def delay_for(self, url: str) -> float:
        """Seconds between requests to `url`'s host: the larger of the configured delay and its Crawl-delay."""
        rules = self._robots.get(host_of(url))
        return max(self.policy.min_delay, rules.crawl_delay if rules else 0.0)

    def refusal(self, url: str) -> str | None:
        """Why `url` may not be fetched (foreign host, robots.txt), or None when it may."""
        host = host_of(url)
        if host not in self.policy.allowed_hosts:
            return f"host {host} is not in allowed_hosts"
        rules = self.robots_for(url)
        if rules.blocked:
            return rules.blocked
        if not rules.allows(url, self.policy.user_agent):
            return "disallowed by robots.txt"
        return None

    # -- requests --------------------------------------------------------------------------------------

    def get(
        self,
        url: str,
        accept: tuple[str, ...],
        max_bytes: int,
        etag: str | None = None,
        last_modified: str | None = None,
    ) -> FetchResult:
        """GET `url` if the rules allow it, conditionally when a validator is known; never raises for HTTP trouble."""
        return self._get(url, accept, max_bytes, etag=etag, last_modified=last_modified, check_robots=True)

    def _count(self, key: str, n: int = 1) -> None:
        with self._count_lock:
            setattr(self.counters, key, getattr(self.counters, key) + n)

    def _refuse(self, result: FetchResult, reason: str, outcome: str = "skipped") -> FetchResult:
        result.outcome, result.reason = outcome, reason
        with self._count_lock:
            key = reason.split(" (")[0]
            self.counters.refused[key] = self.counters.refused.get(key, 0) + 1
        log.info("%s %s: %s", outcome, redact(result.url), reason)
        return result

    def _get(
        self,
        url: str,
        accept: tuple[str, ...],
        max_bytes: int,
        *,
        etag: str | None = None,
        last_modified: str | None = None,
        check_robots: bool,
        lenient_type: bool = False,
    ) -> FetchResult:
        result = FetchResult(url=url, outcome="failed")
        headers = {}
        if etag:
            headers["If-None-Match"] = etag
        if last_modified:
            headers["If-Modified-Since"] = last_modified
        current = url
        for _hop in range(MAX_REDIRECTS + 1):
            host = host_of(current)
            if host not in self.policy.allowed_hosts:
                what = "redirect to foreign host" if current != url else "host"
                return self._refuse(result, f"{what} {host} refused (not in allowed_hosts)")
            if check_robots:
                rules = self.robots_for(current)
                if rules.blocked:  # robots.txt could not be read: a failure, said as what it was
                    return self._refuse(result, rules.blocked, "failed")
                if not rules.allows(current, self.policy.user_agent):
                    return self._refuse(result, "disallowed by robots.txt")
            response = self._send_with_retries(current, headers, result)
            if response is None:
                return result  # failed; reason set
            try:
                status = response.status_code
                result.http_status = status
                if status in REDIRECT_STATUSES:
                    target = absolute(current, response.headers.get("location"))
                    if not target:
                        result.reason = f"HTTP {status} without a usable Location"
                        return result
                    log.debug("redirect %s -> %s", redact(current), redact(target))
                    current = target
                    continue
                result.final_url = current
                result.fetched_at = utc_now()
                if status == 304:
                    self._count("not_modified")
                    result.outcome = "not_modified"
                    result.etag, result.last_modified = etag, last_modified
                    return result
                if status != 200:
                    result.reason = f"HTTP {status}"
                    return result
                return self._read_body(response, result, accept, max_bytes, lenient_type)
            finally:
                response.close()
        result.reason = f"more than {MAX_REDIRECTS} redirects"
        return result

    def _send_with_retries(self, url: str, headers: dict, result: FetchResult) -> httpx.Response | None:
        host = host_of(url)
        p = self.policy
        login = p.credentials.get(host)
        auth = httpx.BasicAuth(*login) if login else None  # only to the host the credentials were given for
        for attempt in range(p.max_retries + 1):
            result.attempts += 1
            self._count("requests")
            with self._pacer.turn(host, self.delay_for(url)) as clock:
                request = self._client.build_request("GET", url, headers=headers,
                                                     extensions={"trace": clock.trace})
                try:
                    clock.stamp()
                    response = self._client.send(request, stream=True, auth=auth)
                except httpx.HTTPError as exc:  # connection refused, DNS failure, timeout, protocol error
                    response, why = None, f"{NETWORK_FAILURE} ({type(exc).__name__})"
            if response is not None:
                if response.status_code not in RETRY_STATUSES:
                    return response
                response.close()
                hinted = retry_after_seconds(response.headers.get("retry-after"))
                why = f"HTTP {response.status_code}"
                result.http_status = response.status_code
                if hinted is not None and hinted > p.max_retry_after:
                    result.reason = (f"{why} with Retry-After {hinted:.0f}s > "
                                     f"max_retry_after_seconds {p.max_retry_after:.0f}")
                    return None
                wait = hinted if hinted is not None else p.backoff * 2**attempt
            else:
                wait = p.backoff * 2**attempt
            if attempt == p.max_retries:
                break
            self._count("retries")
            log.info("retry %s in %.2fs (%s)", redact(url), wait, why)
            self._pacer.defer(host, wait)  # every thread backs off from this host, not only this one
        result.reason = f"{why} after {result.attempts} attempts"
        return None

    def _read_body(
        self, response: httpx.Response, result: FetchResult, accept: tuple[str, ...], max_bytes: int, lenient: bool
    ) -> FetchResult:
        ctype = media_type(response.headers.get("content-type"))
        result.content_type = ctype
        # Validators are kept even for a refused body: an unchanged refused file need not be asked for again.
        result.etag = response.headers.get("etag")
        result.last_modified = response.headers.get("last-modified")
        if ctype not in accept and not lenient:
            return self._refuse(result, f"content-type {ctype or 'missing'} not allowed", "failed")
        declared = response.headers.get("content-length")
        if declared and declared.isdigit() and int(declared) > max_bytes:
            return self._refuse(
                result, f"too large (Content-Length {int(declared)} > {max_bytes} bytes), not downloaded", "failed"
            )
        chunks, size = [], 0
        for chunk in response.iter_bytes(CHUNK):
            size += len(chunk)
            if size > max_bytes:  # no or false Content-Length: stop reading at the limit
                return self._refuse(result, f"too large (body > {max_bytes} bytes), download stopped", "failed")
            chunks.append(chunk)
        result.body = b"".join(chunks)
        result.outcome = "ok"
        return result
