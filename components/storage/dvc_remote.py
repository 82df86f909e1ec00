"""The DVC remote for a team: written to `.dvc/config.local` from the environment, never committed.

VTON_DVC_REMOTE_URL (e.g. s3://vton-dvc/store) names the remote, VTON_DVC_REMOTE_NAME its name (default
`team`), and the S3 endpoint comes from the same variables as every boto3 client (MinIO or AWS). Credentials
stay in AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY, which DVC's S3 client reads itself.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from components.errors import ConfigError
from components.storage.s3 import endpoint_url

REMOTE_URL_ENV = "VTON_DVC_REMOTE_URL"
REMOTE_NAME_ENV = "VTON_DVC_REMOTE_NAME"
DEFAULT_REMOTE_NAME = "team"


@dataclass(frozen=True)
class RemoteSettings:
    """One DVC remote: its name, URL and (for S3-compatible stores) endpoint."""

    name: str
    url: str
    endpoint: str | None = None

    def as_config(self) -> dict[str, str]:
        """The `['remote "NAME"']` section DVC stores for this remote."""
        section = {"url": self.url}
        if self.endpoint and self.url.startswith("s3://"):
            section["endpointurl"] = self.endpoint
        return section


def remote_from_env(env: dict[str, str] | None = None) -> RemoteSettings | None:
    """The remote the environment describes, or None when VTON_DVC_REMOTE_URL is unset."""
    env = os.environ if env is None else env
    url = env.get(REMOTE_URL_ENV)
    if not url:
        return None
    if "://" not in url and not url.startswith(("/", ".")):
        raise ConfigError(f"{REMOTE_URL_ENV}={url!r} is not a URL or path", hint="e.g. s3://vton-dvc/store")
    return RemoteSettings(env.get(REMOTE_NAME_ENV) or DEFAULT_REMOTE_NAME, url, endpoint_url(env))


def configure_remote(root: Path, settings: RemoteSettings, default: bool = True) -> Path:
    """Write `settings` into `root`/.dvc/config.local (validated by DVC), as the default remote; return the file."""
    from dvc.repo import Repo

    with Repo(str(root)) as repo:
        with repo.config.edit("local") as conf:
            conf["remote"][settings.name] = settings.as_config()
            if default:
                conf["core"]["remote"] = settings.name
    return root / ".dvc" / "config.local"


def default_remote(root: Path) -> tuple[str, dict[str, str]] | None:
    """The name and settings of the default DVC remote after merging every config level, or None."""
    from dvc.repo import Repo

    with Repo(str(root)) as repo:
        conf = repo.config
        name = conf["core"].get("remote")
        if not name:
            return None
        return name, dict(conf["remote"].get(name, {}))
