"""boto3 S3 clients configured only from the environment, with retries and multipart transfers.

MinIO, moto and AWS all work: the endpoint comes from VTON_S3_ENDPOINT_URL, else AWS_ENDPOINT_URL_S3,
else AWS_ENDPOINT_URL (unset means AWS itself); credentials and region come from the usual AWS_* variables.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from components.errors import ConfigError

ENDPOINT_ENV_VARS: tuple[str, ...] = ("VTON_S3_ENDPOINT_URL", "AWS_ENDPOINT_URL_S3", "AWS_ENDPOINT_URL")
MIB = 1024 * 1024


def endpoint_url(env: dict[str, str] | None = None) -> str | None:
    """The S3 endpoint the environment names (first of ENDPOINT_ENV_VARS), or None for AWS."""
    env = os.environ if env is None else env
    for name in ENDPOINT_ENV_VARS:
        if env.get(name):
            return env[name]
    return None


@dataclass(frozen=True)
class S3Url:
    """An `s3://bucket/key` address split into its parts."""

    bucket: str
    key: str

    def __str__(self) -> str:
        return f"s3://{self.bucket}/{self.key}" if self.key else f"s3://{self.bucket}"


def parse_s3_url(url: str) -> S3Url:
    """Split `s3://bucket/some/key` into bucket and key; a clear error for anything else."""
    if not url.startswith("s3://") or len(url) <= 5:
        raise ConfigError(f"{url!r} is not an S3 URL", hint="use the form s3://BUCKET/PREFIX")
    bucket, _, key = url[5:].partition("/")
    if not bucket:
        raise ConfigError(f"{url!r} has no bucket", hint="use the form s3://BUCKET/PREFIX")
    return S3Url(bucket, key.strip("/"))


def client_config(max_attempts: int | None = None, connect_timeout: float = 10.0, read_timeout: float = 120.0):
    """botocore settings: standard retry mode (VTON_S3_MAX_ATTEMPTS, default 8) and path-style addressing."""
    from botocore.config import Config

    attempts = max_attempts or int(os.environ.get("VTON_S3_MAX_ATTEMPTS", "8"))
    # Path-style addressing: MinIO and moto on an IP or localhost cannot serve bucket-subdomain requests.
    style = "path" if endpoint_url() else "auto"
    return Config(
        retries={"max_attempts": attempts, "mode": "standard"},
        connect_timeout=connect_timeout,
        read_timeout=read_timeout,
        s3={"addressing_style": style},
    )


def s3_client(max_attempts: int | None = None):
    """A boto3 S3 client for the configured endpoint, region and credentials, with retries."""
    import boto3

    region = os.environ.get("AWS_REGION") or os.environ.get("AWS_DEFAULT_REGION") or "us-east-1"
    return boto3.client(
        "s3", endpoint_url=endpoint_url(), region_name=region, config=client_config(max_attempts)
    )


def transfer_config():
    """Multipart settings for large checkpoints: VTON_S3_MULTIPART_MB threshold/chunk (default 64), 8 threads."""
    from boto3.s3.transfer import TransferConfig

    chunk = int(float(os.environ.get("VTON_S3_MULTIPART_MB", "64")) * MIB)
    return TransferConfig(
        multipart_threshold=chunk,
        multipart_chunksize=chunk,
        max_concurrency=int(os.environ.get("VTON_S3_CONCURRENCY", "8")),
        num_download_attempts=5,
        use_threads=True,
    )


def upload_file(path: Path, url: str, client=None) -> S3Url:
    """Upload one local file to `s3://bucket/key`, multipart above the threshold; returns where it went."""
    dest = parse_s3_url(url)
    (client or s3_client()).upload_file(str(path), dest.bucket, dest.key, Config=transfer_config())
    return dest


def download_file(url: str, path: Path, client=None) -> Path:
    """Download `s3://bucket/key` to `path` (parents created), multipart with retries; returns `path`."""
    src = parse_s3_url(url)
    path.parent.mkdir(parents=True, exist_ok=True)
    (client or s3_client()).download_file(src.bucket, src.key, str(path), Config=transfer_config())
    return path
