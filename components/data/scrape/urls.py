"""URL helpers: resolve links, keep only http(s), and strip credentials before anything is logged or stored.

Two kinds of secret travel in URLs. user:password@ is configuration: `split_credentials` takes it out of the
start URLs once, and the fetcher sends it as HTTP basic auth to that host only, so no discovered URL carries it.
Query tokens (signed CDN links, session ids) come from the pages: `redact` replaces their values before a URL
is logged or stored, crawl state included; a stored page whose links lost a token is fetched again when its
links are needed, since only the page can give them back (and signed links expire anyway).
"""

from __future__ import annotations

import json
import re
from urllib.parse import parse_qsl, unquote, urlencode, urljoin, urlsplit, urlunsplit

REDACTED = "***"
# Query parameters that commonly carry secrets (signed CDN links, API keys, session tokens).
_SECRET_PARAM = re.compile(
    r"(token|key|secret|sig|signature|password|passwd|auth|session|credential|policy|jwt|hmac)", re.I
)


def absolute(base: str, link: str | None) -> str | None:
    """`link` resolved against `base`, without its #fragment; None unless it is an http(s) URL."""
    if not link:
        return None
    url = urljoin(base, link.strip())
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        return None
    return urlunsplit((parts.scheme, parts.netloc, parts.path or "/", parts.query, ""))


def host_of(url: str) -> str:
    """The lower-case host name of `url` ('' when it has none)."""
    return (urlsplit(url).hostname or "").lower()


def split_credentials(url: str) -> tuple[str, tuple[str, str] | None]:
    """(`url` without user:password@, (user, password) or None)."""
    parts = urlsplit(url)
    if parts.username is None and parts.password is None:
        return url, None
    netloc = parts.netloc.rsplit("@", 1)[1]
    clean = urlunsplit((parts.scheme, netloc, parts.path, parts.query, parts.fragment))
    return clean, (unquote(parts.username or ""), unquote(parts.password or ""))


def redact(url: str) -> str:
    """`url` safe to log or store: user:password@ and secret-looking query values replaced by ***."""
    try:
        parts = urlsplit(url)
    except ValueError:
        return "<unparseable url>"
    netloc = parts.netloc
    if "@" in netloc:
        netloc = REDACTED + "@" + netloc.rsplit("@", 1)[1]
    query = parts.query
    if query:
        pairs = parse_qsl(query, keep_blank_values=True)
        query = urlencode([(k, REDACTED if _SECRET_PARAM.search(k) else v) for k, v in pairs], safe="*")
    return urlunsplit((parts.scheme, netloc, parts.path, query, parts.fragment))


def has_redacted(url: str) -> bool:
    """True when `url` lost a secret to `redact` (it can no longer be fetched as it was)."""
    parts = urlsplit(url)
    return parts.netloc.startswith(REDACTED + "@") or any(v == REDACTED for _, v in parse_qsl(parts.query))


def _is_url(value: object) -> bool:
    return isinstance(value, str) and value.startswith(("http://", "https://"))


def _map_strings(value, fn):
    if isinstance(value, list):
        return [_map_strings(v, fn) for v in value]
    if isinstance(value, dict):
        return {k: _map_strings(v, fn) for k, v in value.items()}
    return fn(value)


def redact_json(text: str) -> str:
    """A JSON document with every http(s) URL string in it redacted (what the crawl state stores)."""
    return json.dumps(_map_strings(json.loads(text), lambda v: redact(v) if _is_url(v) else v), sort_keys=True)


def json_has_redacted(text: str) -> bool:
    """True when a stored JSON document holds a URL that lost a secret."""
    found: list[bool] = []
    _map_strings(json.loads(text), lambda v: found.append(_is_url(v) and has_redacted(v)))
    return any(found)
