"""The model store against real servers on loopback: an S3 API (moto) and a plain HTTP server."""

import hashlib
import http.server
import json
import os
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from components.errors import MissingWeightsError
from components.models.store import (
    Catalog,
    ChecksumMismatch,
    UnverifiedWeights,
    ensure_weights,
    local_path,
    pin_state,
    pull_model,
    verify_file,
)

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


def test_an_unpinned_entry_is_not_downloaded_without_trust(tmp_path, http_root):
    www, base = http_root
    (www / "w.bin").write_bytes(PAYLOAD)
    catalog = _catalog(tmp_path, f"{base}/w.bin", sha="unknown-until-pulled")
    with pytest.raises(UnverifiedWeights) as err:
        pull_model(catalog.get("tiny"))
    assert "pins no sha256" in str(err.value) and "--trust" in str(err.value) and "catalog.yaml" in str(err.value)
    assert not local_path(catalog.get("tiny")).exists()


def test_an_unpinned_pull_with_trust_is_recorded_and_enforced_after(tmp_path, http_root):
    www, base = http_root
    (www / "w.bin").write_bytes(PAYLOAD)
    catalog = _catalog(tmp_path, f"{base}/w.bin", sha="unknown-until-pulled")
    path = pull_model(catalog.get("tiny"), trust=True)
    assert verify_file(catalog.get("tiny"), path) == SHA and pin_state(catalog.get("tiny")) == "trusted"
    assert ensure_weights("tiny", catalog) == path
    path.write_bytes(b"swapped")
    with pytest.raises(ChecksumMismatch, match="not the .* trusted earlier"):
        verify_file(catalog.get("tiny"), path)


def test_a_hand_placed_file_is_checked_against_the_pin(tmp_path):
    catalog = _catalog(tmp_path, "hf://someone/repo/w.bin")
    target = local_path(catalog.get("tiny"))
    target.parent.mkdir(parents=True)
    target.write_bytes(PAYLOAD + b"not the published bytes")
    with pytest.raises(ChecksumMismatch, match="the catalog expects " + SHA):
        ensure_weights("tiny", catalog)
    target.write_bytes(PAYLOAD)
    assert ensure_weights("tiny", catalog) == target


def test_a_hand_placed_unpinned_file_is_refused_until_trusted(tmp_path):
    catalog = _catalog(tmp_path, "hf://someone/repo/w.bin", sha="unknown-until-pulled")
    target = local_path(catalog.get("tiny"))
    target.parent.mkdir(parents=True)
    target.write_bytes(PAYLOAD)
    with pytest.raises(UnverifiedWeights, match=f"the local file has sha256 {SHA}"):
        ensure_weights("tiny", catalog)
    assert pin_state(catalog.get("tiny")) == "unverified"
    # A checksum recorded the old way (trust on first use, no `trusted` mark) vouches for nothing.
    target.with_name(target.name + ".verified.json").write_text(json.dumps({"sha256": SHA}))
    with pytest.raises(UnverifiedWeights):
        ensure_weights("tiny", catalog)
    assert verify_file(catalog.get("tiny"), target, trust=True) == SHA
    assert ensure_weights("tiny", catalog) == target


def _vton(tmp_path: Path, catalog: Path, *args: str) -> subprocess.CompletedProcess:
    env = {**os.environ, "VTON_MODEL_CATALOG": str(catalog), "VTON_MODEL_CACHE": str(tmp_path / "cache")}
    return subprocess.run([sys.executable, "-m", "components.cli", "models", *args], env=env, cwd=tmp_path,
                          capture_output=True, text=True, timeout=120)


def test_cli_verify_refuses_an_unpinned_file_without_trust_and_records_it_with_trust(tmp_path):
    catalog = _catalog(tmp_path, "hf://someone/repo/w.bin", sha="unknown-until-pulled")
    target = local_path(catalog.get("tiny"))
    target.parent.mkdir(parents=True)
    target.write_bytes(PAYLOAD)
    listed = _vton(tmp_path, catalog.path, "list")
    assert listed.returncode == 0 and "unverified" in listed.stdout
    refused = _vton(tmp_path, catalog.path, "verify", "tiny")
    assert refused.returncode == 2 and "Traceback" not in refused.stderr
    assert "vton models verify tiny --trust" in refused.stderr and "catalog.yaml" in refused.stderr
    trusted = _vton(tmp_path, catalog.path, "verify", "tiny", "--trust")
    assert trusted.returncode == 0 and f"tiny: ok (trusted)  sha256 {SHA}" in trusted.stdout
    assert "(not pinned: trusted by you with --trust)" in _vton(tmp_path, catalog.path, "list").stdout


def test_cli_pull_of_a_multi_file_model_pulls_every_one_of_its_files(tmp_path, http_root):
    www, base = http_root
    (www / "w.bin").write_bytes(PAYLOAD)
    path = tmp_path / "catalog.yaml"
    rows = "".join(
        f"  - name: {name}\n    version: '1'\n    source: {base}/w.bin\n    sha256: {SHA}\n    size: {len(PAYLOAD)}\n"
        f"    licence: test\n    used_by: [test]\n" for name in ("flux1-fill-dev.a.json", "flux1-fill-dev.b.bin", "other"))
    path.write_text("models:\n" + rows)
    proc = _vton(tmp_path, path, "pull", "flux1-fill-dev")
    assert proc.returncode == 0, proc.stderr
    assert "flux1-fill-dev.a.json:" in proc.stdout and "flux1-fill-dev.b.bin:" in proc.stdout
    assert "other:" not in proc.stdout
    catalog = Catalog.load(path)
    assert [e.name for e in catalog.select("flux1-fill-dev")] == ["flux1-fill-dev.a.json", "flux1-fill-dev.b.bin"]
    unknown = _vton(tmp_path, path, "pull", "flux1")
    assert unknown.returncode == 2 and "multi-file models: ['flux1-fill-dev']" in unknown.stderr


def test_every_catalog_pin_is_a_full_sha256_and_the_unpinned_ones_are_listed():
    catalog = Catalog.load()
    for entry in catalog.entries.values():
        assert entry.sha256 == "unknown-until-pulled" or len(entry.sha256) == 64 and int(entry.sha256, 16) >= 0
    assert {e.name for e in catalog.entries.values() if e.scheme == "package"} <= {
        e.name for e in catalog.entries.values() if e.sha_known}


def test_package_models_are_catalogued_and_verified():
    catalog = Catalog.load()
    for name in ("mediapipe_pose_landmark_full", "mediapipe_selfie_segmentation"):
        assert ensure_weights(name, catalog).is_file()
