"""boto3 clients from the environment, against a real S3 API (`moto_server` on 127.0.0.1)."""

from __future__ import annotations

import os

import pytest

from components.errors import ConfigError
from components.storage import s3
from tests.infra import servers


@pytest.fixture(scope="module")
def s3_endpoint(tmp_path_factory):
    proc, url = servers.start_moto(tmp_path_factory.mktemp("s3-logs"))
    yield url
    servers.stop(proc)


def test_vton_endpoint_wins_over_the_aws_ones_and_none_means_aws():
    env = {"AWS_ENDPOINT_URL": "http://aws-wide", "AWS_ENDPOINT_URL_S3": "http://s3-only"}
    assert s3.endpoint_url(env) == "http://s3-only"
    assert s3.endpoint_url({**env, "VTON_S3_ENDPOINT_URL": "http://minio:9000"}) == "http://minio:9000"
    assert s3.endpoint_url({}) is None


def test_s3_urls_split_into_bucket_and_key_and_others_are_refused():
    assert s3.parse_s3_url("s3://models/vton/ckpt.safetensors") == s3.S3Url("models", "vton/ckpt.safetensors")
    assert str(s3.parse_s3_url("s3://bucket")) == "s3://bucket"
    for bad in ("gs://x/y", "s3://", "/local/path"):
        with pytest.raises(ConfigError):
            s3.parse_s3_url(bad)


def test_large_files_upload_in_parts_and_download_intact(s3_endpoint, tmp_path, monkeypatch):
    for key, value in {**servers.s3_env(s3_endpoint), "VTON_S3_MULTIPART_MB": "5"}.items():
        monkeypatch.setenv(key, value)
    client = s3.s3_client()
    client.create_bucket(Bucket="models")
    big = tmp_path / "ckpt.bin"
    big.write_bytes(os.urandom(11 * s3.MIB))
    s3.upload_file(big, "s3://models/vton/ckpt.bin")
    etag = client.head_object(Bucket="models", Key="vton/ckpt.bin")["ETag"].strip('"')
    assert etag.endswith("-3")  # three 5 MiB parts: a multipart upload
    back = s3.download_file("s3://models/vton/ckpt.bin", tmp_path / "back" / "ckpt.bin")
    assert back.read_bytes() == big.read_bytes()


def test_clients_retry_and_use_path_style_for_custom_endpoints(monkeypatch):
    monkeypatch.setenv("VTON_S3_ENDPOINT_URL", "http://127.0.0.1:9")
    monkeypatch.setenv("VTON_S3_MAX_ATTEMPTS", "5")
    config = s3.client_config()
    assert config.retries == {"max_attempts": 5, "mode": "standard"}
    assert config.s3 == {"addressing_style": "path"}
