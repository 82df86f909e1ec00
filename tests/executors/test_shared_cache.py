"""The shared cache on a real S3 API (`moto_server` on 127.0.0.1): records with their files, checked on read."""

from __future__ import annotations

import hashlib
import tempfile
from pathlib import Path

import pytest
from pydantic import ValidationError

from components.errors import ConfigError
from components.executors.params import RayExecutorParams
from components.executors.shared_cache import SharedCache
from tests.infra import servers


@pytest.fixture(scope="module")
def s3_endpoint():
    proc, url = servers.start_moto(Path(tempfile.mkdtemp(prefix="vton-s3-")))
    yield url
    servers.stop(proc)


@pytest.fixture
def s3_env(s3_endpoint, monkeypatch):
    for key, value in servers.s3_env(s3_endpoint).items():
        monkeypatch.setenv(key, value)


def test_a_record_comes_back_with_its_files_and_identical_files_are_stored_once(s3_env):
    from components.storage.s3 import s3_client

    client = s3_client()
    client.create_bucket(Bucket="cache-a")
    cache = SharedCache("s3://cache-a/team", "annotate", client)
    assert cache.get_record("samples", "ab" * 32) is None
    cache.put_record("samples", "ab" * 32, {"status": "ok", "n": 1}, {"x/a.png": b"same", "x/b.png": b"same"})
    row, files = cache.get_record("samples", "ab" * 32)
    assert row == {"status": "ok", "n": 1} and files == {"x/a.png": b"same", "x/b.png": b"same"}
    keys = [o["Key"] for o in client.list_objects_v2(Bucket="cache-a")["Contents"]]
    assert sorted(keys) == sorted([f"team/annotate/samples/ab/{'ab' * 32}",
                                   f"team/files/{hashlib.sha256(b'same').hexdigest()[:2]}/"
                                   f"{hashlib.sha256(b'same').hexdigest()}"])


def test_a_record_whose_file_was_damaged_or_lost_is_a_miss(s3_env):
    from components.storage.s3 import s3_client

    client = s3_client()
    client.create_bucket(Bucket="cache-b")
    cache = SharedCache("s3://cache-b", "augment", client)
    cache.put_record("variants", "cd" * 32, {"status": "ok"}, {"a.png": b"pixels"})
    sha = hashlib.sha256(b"pixels").hexdigest()
    client.put_object(Bucket="cache-b", Key=f"files/{sha[:2]}/{sha}", Body=b"pixelz")
    assert cache.get_record("variants", "cd" * 32) is None
    client.delete_object(Bucket="cache-b", Key=f"files/{sha[:2]}/{sha}")
    assert cache.get_record("variants", "cd" * 32) is None


def test_a_bucket_that_does_not_exist_is_a_clear_error_naming_the_cache(s3_env):
    cache = SharedCache("s3://no-such-bucket/x", "annotate")
    with pytest.raises(ConfigError, match="s3://no-such-bucket/x cannot be read") as err:
        cache.get("samples", "ef" * 32)
    assert "create the bucket" in str(err.value)
    with pytest.raises(ConfigError, match="s3://no-such-bucket/x cannot be written"):
        cache.put_record("samples", "ef" * 32, {"status": "ok"}, {"a.png": b"pixels"})  # writes say so too


def test_the_shared_cache_setting_is_an_s3_url_or_null():
    assert RayExecutorParams(shared_cache="s3://bucket/prefix").shared_cache == "s3://bucket/prefix"
    for bad in ("/mnt/cache", "s3://", "gs://bucket/x"):
        with pytest.raises(ValidationError, match="s3://BUCKET/PREFIX"):
            RayExecutorParams(shared_cache=bad)
