"""The team DVC remote written to .dvc/config.local from the environment."""

from __future__ import annotations

from pathlib import Path

import pytest

from components.errors import ConfigError
from components.storage.dvc_remote import configure_remote, default_remote, remote_from_env


def test_remote_comes_from_env_with_the_s3_endpoint():
    env = {"VTON_DVC_REMOTE_URL": "s3://vton-dvc/store", "VTON_S3_ENDPOINT_URL": "http://minio:9000"}
    settings = remote_from_env(env)
    assert settings.name == "team"
    assert settings.as_config() == {"url": "s3://vton-dvc/store", "endpointurl": "http://minio:9000"}
    assert remote_from_env({}) is None
    with pytest.raises(ConfigError):
        remote_from_env({"VTON_DVC_REMOTE_URL": "vton-dvc"})


def test_configure_writes_config_local_and_becomes_the_default(workspace: Path):
    settings = remote_from_env({"VTON_DVC_REMOTE_URL": "s3://vton-dvc/store", "AWS_ENDPOINT_URL": "http://s3:9000"})
    path = configure_remote(workspace, settings)
    assert path == workspace / ".dvc" / "config.local"
    assert "s3://vton-dvc/store" in path.read_text() and "secret" not in path.read_text().lower()
    name, section = default_remote(workspace)
    assert name == "team" and section["endpointurl"] == "http://s3:9000"
    assert "config.local" not in (workspace / ".dvc" / "config").read_text()
