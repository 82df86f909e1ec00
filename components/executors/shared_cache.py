"""The content-keyed cache on S3 that Ray workers on any machine read before computing and write after.

    s3://bucket/prefix/<step>/<kind>/<kk>/<key>    one entry (a record's JSON, a person's maps) by its cache key
    s3://bucket/prefix/files/<kk>/<sha256>         the files records list, by content (shared by every step)

The keys are the ones the driver's local cache uses (components/annotate/cache.py, components/data/augment/
cache.py): they hash every input byte, param and line of code that shapes the output, so an entry is valid
wherever it is read. A record is written only after all its files are uploaded, so a reader that finds a record
finds its files; every file read back is checked against its sha256. The client is the project's
(components/storage/s3.py: endpoint, credentials and region from the worker's own environment, never shipped
by the driver).
"""

from __future__ import annotations

import hashlib
import json

from components.errors import ConfigError
from components.storage.s3 import parse_s3_url, s3_client


class SharedCache:
    """Entries and files of one step under `s3://bucket/prefix`."""

    def __init__(self, url: str, step: str, client=None) -> None:
        where = parse_s3_url(url)
        self.url, self.step = url, step
        self.bucket, self.prefix = where.bucket, f"{where.key}/" if where.key else ""
        self._client = client or s3_client()

    def _key(self, kind: str, key: str) -> str:
        return f"{self.prefix}{self.step}/{kind}/{key[:2]}/{key}"

    def _file_key(self, sha256: str) -> str:
        return f"{self.prefix}files/{sha256[:2]}/{sha256}"

    def _get(self, key: str) -> bytes | None:
        from botocore.exceptions import ClientError

        try:
            return self._client.get_object(Bucket=self.bucket, Key=key)["Body"].read()
        except ClientError as exc:
            code = exc.response.get("Error", {}).get("Code")
            if code in ("NoSuchKey", "404"):
                return None
            self._refused(code, "read")
            raise

    def _put(self, key: str, data: bytes) -> None:
        from botocore.exceptions import ClientError

        try:
            self._client.put_object(Bucket=self.bucket, Key=key, Body=data)
        except ClientError as exc:
            self._refused(exc.response.get("Error", {}).get("Code"), "written")
            raise

    def _refused(self, code: str | None, what: str) -> None:
        """A ConfigError naming the cache when S3 refused it (no bucket, no permission); else nothing."""
        if code in ("NoSuchBucket", "AccessDenied", "403"):
            raise ConfigError(f"the shared cache {self.url} cannot be {what}: {code}",
                              hint="create the bucket, or give the Ray workers credentials that may read and "
                                   "write it (AWS_* / VTON_S3_ENDPOINT_URL in the worker image's environment)")

    def _exists(self, key: str) -> bool:
        from botocore.exceptions import ClientError

        try:
            self._client.head_object(Bucket=self.bucket, Key=key)
            return True
        except ClientError:
            return False

    def get(self, kind: str, key: str) -> bytes | None:
        """The entry's bytes, or None on a miss."""
        return self._get(self._key(kind, key))

    def put(self, kind: str, key: str, data: bytes) -> None:
        """Store an entry (a whole object: S3 never shows a half-written one)."""
        self._put(self._key(kind, key), data)

    def get_record(self, kind: str, key: str) -> tuple[dict, dict[str, bytes]] | None:
        """(row, {relative path: bytes}) of a finished record, or None on a miss or a file that is gone or changed."""
        data = self.get(kind, key)
        if data is None:
            return None
        record = json.loads(data)
        files = {}
        for rel, sha in record["files"].items():
            blob = self._get(self._file_key(sha))
            if blob is None or hashlib.sha256(blob).hexdigest() != sha:
                return None  # a lost or damaged file: make the record again
            files[rel] = blob
        return record["row"], files

    def put_record(self, kind: str, key: str, row: dict, files: dict[str, bytes]) -> None:
        """Upload the record's files (those not stored yet), then the record naming them."""
        shas = {}
        for rel, blob in files.items():
            sha = shas[rel] = hashlib.sha256(blob).hexdigest()
            if not self._exists(self._file_key(sha)):
                self._put(self._file_key(sha), blob)
        self.put(kind, key, json.dumps({"row": row, "files": shas}, default=_json_default).encode())


def _json_default(value):
    """numpy scalars as Python numbers (a manifest row may carry them); anything else as text."""
    import numpy as np

    return value.item() if isinstance(value, np.generic) else str(value)
