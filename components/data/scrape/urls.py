"""URL helpers: resolve links, keep only http(s), and strip credentials before anything is logged or stored."""

from __future__ import annotations

import re
from urllib.parse import parse_qsl, urlencode, urljoin, urlsplit, urlunsplit

# Query parameters that commonly carry secrets (signed CDN links, API keys, session tokens).
_SECRET_PARAM = re.compile(r"(token|key|secret|sig|signature|password|passwd|auth|session|credential)", re.I)


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


def redact(url: str) -> str:
    """`url` safe to log or store: user:password@ and secret-looking query values replaced by ***."""
    try:
        parts = urlsplit(url)
    except ValueError:
        return "<unparseable url>"
    netloc = parts.netloc
    if "@" in netloc:
        netloc = "***@" + netloc.rsplit("@", 1)[1]
    query = parts.query
    if query:
        pairs = parse_qsl(query, keep_blank_values=True)
        query = urlencode([(k, "***" if _SECRET_PARAM.search(k) else v) for k, v in pairs], safe="*")
    return urlunsplit((parts.scheme, netloc, parts.path, query, parts.fragment))
