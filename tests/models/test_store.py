"""The model store against real servers on loopback: an S3 API (moto) and a plain HTTP server."""

import hashlib
import http.server
import os
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from components.errors import MissingWeightsError
from components.models.store import Catalog, ChecksumMismatch, ensure_weights, local_path, pull_model, verify_file

PAYLOAD = b"tiny weights \x00\x01\x02" * 1000
SHA = hashlib.sha256(PAYLOAD).hexdigest()


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _catalog(tmp_path: Path, source: str, sha: str = SHA, name: str = "tiny") -> Catalog:
    path = tmp_path / "catalog.yaml"
    path.write_text(
        f"models:\n  - name: {name}\n    version: '1'\n    source: {source}\n    sha256: {sha}\n"
        f"    size: {len(PAYLOAD)}\n    licence: test\n    used_by: [test]\n"
    )
    return Catalog.load(path)


@pytest.fixture(autouse=True)
def model_cache(tmp_path, monkeypatch):
    monkeypatch.setenv("VTON_MODEL_CACHE", str(tmp_path / "cache"))
    monkeypatch.delenv("VTON_MODELS_AUTO_PULL", raising=False)


@pytest.fixture
def http_root(tmp_path):
    """A local HTTP server serving tmp_path/www."""
    www = tmp_path / "www"
    www.mkdir()
    handler = lambda *a, **k: http.server.SimpleHTTPRequestHandler(*a, directory=str(www), **k)  # noqa: E731
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield www, f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()


@pytest.fixture
def s3_endpoint(monkeypatch):
    """A moto S3 server on loopback, with credentials and endpoint in the environment."""
    port = _free_port()
    proc = subprocess.Popen([sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(port)],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    url = f"http://127.0.0.1:{port}"
    for _ in range(200):
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.1).close()
            break
        except OSError:
            time.sleep(0.05)
    for key, value in {"AWS_ACCESS_KEY_ID": "test", "AWS_SECRET_ACCESS_KEY": "test",
                       "AWS_DEFAULT_REGION": "us-east-1", "VTON_S3_ENDPOINT_URL": url}.items():
        monkeypatch.setenv(key, value)
    yield url
    proc.terminate()
    proc.wait()


def test_pull_from_an_s3_server_verifies_and_caches(tmp_path, s3_endpoint):
    import boto3

    client = boto3.client("s3", endpoint_url=s3_endpoint)
    client.create_bucket(Bucket="models")
    client.put_object(Bucket="models", Key="tiny/w.bin", Body=PAYLOAD)
    catalog = _catalog(tmp_path, "s3://models/tiny/w.bin")
    path = pull_model(catalog.get("tiny"))
    assert path.read_bytes() == PAYLOAD and path == local_path(catalog.get("tiny"))
    assert ensure_weights("tiny", catalog) == path


def test_pull_from_an_http_server(tmp_path, http_root):
    www, base = http_root
    (www / "w.bin").write_bytes(PAYLOAD)
    catalog = _catalog(tmp_path, f"{base}/w.bin")
    assert pull_model(catalog.get("tiny")).read_bytes() == PAYLOAD


def test_checksum_mismatch_is_refused_and_nothing_is_kept(tmp_path, http_root):
    www, base = http_root
    (www / "w.bin").write_bytes(PAYLOAD + b"tampered")
    catalog = _catalog(tmp_path, f"{base}/w.bin")
    with pytest.raises(ChecksumMismatch, match="refused"):
        pull_model(catalog.get("tiny"))
    assert not local_path(catalog.get("tiny")).exists()
    with pytest.raises(MissingWeightsError):
        ensure_weights("tiny", catalog)


def test_a_cached_file_changed_on_disk_fails_verification(tmp_path, http_root):
    www, base = http_root
    (www / "w.bin").write_bytes(PAYLOAD)
    catalog = _catalog(tmp_path, f"{base}/w.bin")
    path = pull_model(catalog.get("tiny"))
    path.write_bytes(b"corrupted")
    with pytest.raises(ChecksumMismatch):
        verify_file(catalog.get("tiny"), path, force=True)


def test_missing_weights_message_names_the_file_source_and_where_to_put_it(tmp_path):
    catalog = _catalog(tmp_path, "hf://someone/repo/model.pth")
    with pytest.raises(MissingWeightsError) as err:
        ensure_weights("tiny", catalog)
    text = str(err.value)
    assert "model.pth" in text and "hf://someone/repo/model.pth" in text
    assert str(local_path(catalog.get("tiny"))) in text and "vton models pull tiny" in text


def test_unknown_checksum_is_recorded_on_first_pull_and_enforced_after(tmp_path, http_root):
    www, base = http_root
    (www / "w.bin").write_bytes(PAYLOAD)
    catalog = _catalog(tmp_path, f"{base}/w.bin", sha="unknown-until-pulled")
    path = pull_model(catalog.get("tiny"))
    assert verify_file(catalog.get("tiny"), path) == SHA
    path.write_bytes(b"swapped")
    with pytest.raises(ChecksumMismatch):
        verify_file(catalog.get("tiny"), path)


def test_package_models_are_catalogued_and_verified():
    catalog = Catalog.load()
    for name in ("mediapipe_pose_landmark_full", "mediapipe_selfie_segmentation"):
        assert ensure_weights(name, catalog).is_file()
