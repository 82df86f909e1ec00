"""The crawl state of one site (SQLite): pages and images with their validators, downloaded blobs with
their hashes and verdicts, and crawls. It survives DVC deleting the stage output, so a killed crawl
resumes where it stopped and a re-crawl sends conditional requests and downloads only what changed.
Every URL is redacted before it is written (keys, and the links inside page payloads): the state never holds
a credential or a query token, so callers look records up by the URL they fetched and this module redacts it.

    <state_dir>/<site>/state.sqlite
    <state_dir>/<site>/blobs/<sha256[:2]>/<sha256>.<ext>   original bytes, named by content hash
"""

from __future__ import annotations

import sqlite3
import threading
from dataclasses import dataclass, replace
from pathlib import Path

from components.data.scrape.fetch import utc_now
from components.data.scrape.urls import redact, redact_json

SCHEMA = """
CREATE TABLE IF NOT EXISTS crawls (id INTEGER PRIMARY KEY, started_at TEXT NOT NULL, finished_at TEXT);
CREATE TABLE IF NOT EXISTS pages (
  url TEXT PRIMARY KEY, kind TEXT NOT NULL, status TEXT NOT NULL, reason TEXT, etag TEXT, last_modified TEXT,
  fetched_at TEXT, crawl_id INTEGER, first_crawl INTEGER, seq INTEGER, payload TEXT);
CREATE TABLE IF NOT EXISTS images (
  url TEXT PRIMARY KEY, status TEXT NOT NULL, reason TEXT, etag TEXT, last_modified TEXT, fetched_at TEXT,
  crawl_id INTEGER, sha256 TEXT);
CREATE TABLE IF NOT EXISTS blobs (
  sha256 TEXT PRIMARY KEY, ext TEXT, phash TEXT, width INTEGER, height INTEGER, kind TEXT, kind_reason TEXT,
  first_seen TEXT);
"""


@dataclass
class PageRecord:
    """A page as last fetched."""

    url: str
    kind: str
    status: str
    reason: str | None
    etag: str | None
    last_modified: str | None
    fetched_at: str | None
    crawl_id: int | None
    first_crawl: int | None
    seq: int | None
    payload: str | None


@dataclass
class ImageRecord:
    """An image URL as last fetched, and the blob its bytes are."""

    url: str
    status: str
    reason: str | None
    etag: str | None
    last_modified: str | None
    fetched_at: str | None
    crawl_id: int | None
    sha256: str | None


@dataclass
class BlobRecord:
    """A stored image file and what is known about its content."""

    sha256: str
    ext: str
    phash: str | None
    width: int | None
    height: int | None
    kind: str | None  # person | garment | ambiguous (None until classified)
    kind_reason: str | None
    first_seen: str | None


class CrawlState:
    """Thread-safe access to one site's state; every write is committed at once, so a kill loses nothing."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory
        self.blob_dir = directory / "blobs"
        directory.mkdir(parents=True, exist_ok=True)
        self._lock = threading.Lock()
        self._db = sqlite3.connect(directory / "state.sqlite", check_same_thread=False, isolation_level=None)
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.executescript(SCHEMA)

    def close(self) -> None:
        """Close the database."""
        with self._lock:
            self._db.close()

    def _exec(self, sql: str, args: tuple = ()) -> list[tuple]:
        with self._lock:
            return self._db.execute(sql, args).fetchall()

    # -- crawls ----------------------------------------------------------------------------------------

    def begin_crawl(self) -> tuple[int, bool]:
        """(crawl id, resumed): the unfinished crawl if one was interrupted, else a new one."""
        rows = self._exec("SELECT id FROM crawls WHERE finished_at IS NULL ORDER BY id DESC LIMIT 1")
        if rows:
            return rows[0][0], True
        with self._lock:
            cur = self._db.execute("INSERT INTO crawls (started_at) VALUES (?)", (utc_now(),))
            return int(cur.lastrowid), False

    def finish_crawl(self, crawl_id: int) -> None:
        """Mark a crawl complete; the next crawl revalidates everything."""
        self._exec("UPDATE crawls SET finished_at=? WHERE id=?", (utc_now(), crawl_id))

    # -- pages -----------------------------------------------------------------------------------------

    def page(self, url: str) -> PageRecord | None:
        """The stored record of `url`, if any."""
        rows = self._exec("SELECT * FROM pages WHERE url=?", (redact(url),))
        return PageRecord(*rows[0]) if rows else None

    def put_page(self, rec: PageRecord) -> None:
        """Insert or replace a page record (URL and payload links redacted); first_crawl and seq stick to their
        first values."""
        rec = replace(rec, url=redact(rec.url), payload=redact_json(rec.payload) if rec.payload else rec.payload)
        old = self.page(rec.url)
        if old is not None:
            rec.first_crawl = old.first_crawl if old.first_crawl is not None else rec.first_crawl
            rec.seq = old.seq if old.seq is not None else rec.seq
        self._exec(
            "INSERT OR REPLACE INTO pages VALUES (?,?,?,?,?,?,?,?,?,?,?)",
            (rec.url, rec.kind, rec.status, rec.reason, rec.etag, rec.last_modified, rec.fetched_at,
             rec.crawl_id, rec.first_crawl, rec.seq, rec.payload),
        )

    def product_pages(self) -> list[PageRecord]:
        """Every product page ever seen, in discovery order (first crawl, then position)."""
        rows = self._exec("SELECT * FROM pages WHERE kind='product' ORDER BY first_crawl, seq, url")
        return [PageRecord(*r) for r in rows]

    def next_seq(self) -> int:
        """A position after every page recorded so far."""
        rows = self._exec("SELECT COALESCE(MAX(seq), -1) + 1 FROM pages")
        return int(rows[0][0])

    # -- images and blobs ------------------------------------------------------------------------------

    def image(self, url: str) -> ImageRecord | None:
        """The stored record of image `url`, if any."""
        rows = self._exec("SELECT * FROM images WHERE url=?", (redact(url),))
        return ImageRecord(*rows[0]) if rows else None

    def put_image(self, rec: ImageRecord) -> None:
        """Insert or replace an image record (its URL redacted)."""
        rec = replace(rec, url=redact(rec.url))
        self._exec(
            "INSERT OR REPLACE INTO images VALUES (?,?,?,?,?,?,?,?)",
            (rec.url, rec.status, rec.reason, rec.etag, rec.last_modified, rec.fetched_at, rec.crawl_id, rec.sha256),
        )

    def blob(self, sha256: str) -> BlobRecord | None:
        """The stored blob with this content hash, if any."""
        rows = self._exec("SELECT * FROM blobs WHERE sha256=?", (sha256,))
        return BlobRecord(*rows[0]) if rows else None

    def blobs(self) -> list[BlobRecord]:
        """Every stored blob, oldest first."""
        return [BlobRecord(*r) for r in self._exec("SELECT * FROM blobs ORDER BY first_seen, sha256")]

    def put_blob(self, rec: BlobRecord) -> None:
        """Insert or replace a blob record."""
        self._exec(
            "INSERT OR REPLACE INTO blobs VALUES (?,?,?,?,?,?,?,?)",
            (rec.sha256, rec.ext, rec.phash, rec.width, rec.height, rec.kind, rec.kind_reason, rec.first_seen),
        )

    def blob_path(self, sha256: str, ext: str) -> Path:
        """Where a blob's bytes live: named by its content hash, never by its URL."""
        if not (len(sha256) == 64 and all(c in "0123456789abcdef" for c in sha256)) or not ext.isalnum():
            raise ValueError(f"not a content hash name: {sha256!r}.{ext!r}")
        return self.blob_dir / sha256[:2] / f"{sha256}.{ext}"

    def write_blob(self, sha256: str, ext: str, data: bytes) -> Path:
        """Store `data` under its content hash (atomically; a second write of the same bytes is a no-op)."""
        path = self.blob_path(sha256, ext)
        if not path.is_file():
            path.parent.mkdir(parents=True, exist_ok=True)
            tmp = path.with_suffix(f".{ext}.part")
            tmp.write_bytes(data)
            tmp.replace(path)
        return path
