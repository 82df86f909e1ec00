"""Fetch one file from a catalog source (Hugging Face hub, HTTPS, S3) to a local path."""

from __future__ import annotations

import shutil
from pathlib import Path


def download(source: str, dest: Path) -> None:
    """Copy the file named by `source` (hf://, https://, http://, s3://) to `dest`."""
    scheme, _, rest = source.partition("://")
    dest.parent.mkdir(parents=True, exist_ok=True)
    if scheme == "hf":
        _from_hub(rest, dest)
    elif scheme in ("https", "http"):
        _from_url(source, dest)
    elif scheme == "s3":
        _from_s3(rest, dest)
    else:
        raise ValueError(f"cannot download from {scheme}:// sources")


def _from_hub(rest: str, dest: Path) -> None:
    from huggingface_hub import hf_hub_download

    path, _, revision = rest.partition("@")
    owner, repo, filename = path.split("/", 2)
    cached = hf_hub_download(repo_id=f"{owner}/{repo}", filename=filename, revision=revision or None)
    shutil.copyfile(cached, dest)


def _from_url(url: str, dest: Path) -> None:
    import httpx

    with httpx.stream("GET", url, follow_redirects=True, timeout=httpx.Timeout(30.0, read=300.0)) as response:
        response.raise_for_status()
        with open(dest, "wb") as fh:
            for chunk in response.iter_bytes(1 << 20):
                fh.write(chunk)


def _from_s3(rest: str, dest: Path) -> None:
    # The shared client: endpoint and credentials from the environment, retries, multipart for large checkpoints.
    from components.storage.s3 import download_file

    download_file(f"s3://{rest}", dest)
