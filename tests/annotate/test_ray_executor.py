"""annotate.executor: ray on a real Ray cluster (`ray start --head` on loopback, two actors): the same files and
manifest as a local run, and a worker killed mid-shard loses and duplicates nothing."""

import os
import secrets
import signal
import socket
import subprocess
import tempfile
import threading
import time
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from components.annotate.cache import AnnotateCache
from components.annotate.params import AnnotateParams
from components.annotate.stage import annotate_dataset, annotate_folder

pytestmark = [pytest.mark.slow, pytest.mark.timeout(240)]
REPO = Path(__file__).resolve().parents[2]
# Small frames and one sample per shard: several shards per actor, in seconds on a loaded 2-core machine.
SMALL = {"width": 192, "height": 256, "shard_size": 1}


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _ray_cli() -> str:
    import shutil
    import sys

    here = Path(sys.executable).parent / "ray"
    return str(here) if here.is_file() else (shutil.which("ray") or "ray")


def _session_pids(sid: int) -> list[int]:
    """Every live process of the Ray session `ray start` (started as a session leader) began: its children too."""
    import psutil

    pids = []
    for p in psutil.process_iter(["pid"]):
        try:
            if os.getsid(p.info["pid"]) == sid:
                pids.append(p.info["pid"])
        except (ProcessLookupError, PermissionError):
            pass
    return pids


@pytest.fixture(scope="module")
def ray_cluster():
    """A Ray head on 127.0.0.1 with room for two actors, started here and stopped (only its processes) after."""
    port, client_port = _free_port(), _free_port()
    temp = tempfile.mkdtemp(prefix="vr", dir="/tmp")  # short: Ray's unix socket paths must stay under 108 chars
    scratch = Path(temp) / "tmp"  # the actors' scratch folders (tempfile): removed with the cluster
    scratch.mkdir()
    # Token authentication with this cluster's own token, so neither side depends on a ~/.ray/auth_token.
    token = Path(temp) / "auth_token"
    token.write_text(secrets.token_hex(32))
    auth = {"RAY_AUTH_MODE": "token", "RAY_AUTH_TOKEN_PATH": str(token)}
    saved = {k: os.environ.get(k) for k in auth}
    os.environ.update(auth)
    env = {**os.environ, "PYTHONPATH": str(REPO), "RAY_USAGE_STATS_ENABLED": "0", "TMPDIR": str(scratch)}
    head = subprocess.Popen(
        [_ray_cli(), "start", "--head", "--node-ip-address", "127.0.0.1", "--port", str(port), "--num-cpus", "2",
         "--ray-client-server-port", str(client_port), "--include-dashboard=false", "--disable-usage-stats",
         "--temp-dir", temp, "--block"],
        env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
    address = f"127.0.0.1:{port}"
    try:
        _wait_until_up(address, head)
        yield {"address": address, "client": f"ray://127.0.0.1:{client_port}", "scratch": scratch}
    finally:
        _stop(head)
        for k, v in saved.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v
        import shutil

        shutil.rmtree(temp, ignore_errors=True)


def _wait_until_up(address: str, head: subprocess.Popen, timeout: float = 90) -> None:
    """Return once `ray start` reports the head up (it exits early on a bad option); raise past `timeout`."""
    import ray

    host, port = address.split(":")
    deadline = time.monotonic() + timeout
    while True:
        if head.poll() is not None:
            raise RuntimeError(f"`ray start --head` exited with {head.returncode}")
        try:
            socket.create_connection((host, int(port)), timeout=1).close()
            break
        except OSError:
            if time.monotonic() > deadline:
                raise TimeoutError(f"no Ray head on {address} after {timeout} s") from None
            time.sleep(0.5)
    ray.init(address=address, log_to_driver=False)  # waits for the head's raylet to register
    ray.shutdown()


def _stop(head: subprocess.Popen) -> None:
    """SIGTERM the `ray start --block` group, then SIGKILL whatever of its session is left, by pid."""
    try:
        os.killpg(head.pid, signal.SIGTERM)
    except ProcessLookupError:
        pass
    try:
        head.wait(timeout=3)
    except subprocess.TimeoutExpired:
        pass
    for pid in _session_pids(head.pid):
        try:
            os.kill(pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
    head.wait(timeout=10)


@pytest.fixture
def on_cluster(ray_cluster, monkeypatch):
    monkeypatch.setenv("RAY_ADDRESS", ray_cluster["address"])
    return ray_cluster


@pytest.fixture(scope="module")
def imported(tmp_path_factory) -> Path:
    """The bundled sample data, imported (pairs with garment photos, one of them not a person)."""
    from components.data.importers.ingest import import_sources
    from components.data.params import ImportParams, ImportSource
    from components.data.sample_data import materialise_sample_data

    root = tmp_path_factory.mktemp("proj")
    folder = materialise_sample_data(root / "raw")
    params = ImportParams(sources=[ImportSource(kind="folder", path=str(folder), name="sample", licence="test")])
    import_sources(params, root / "imported", root)
    return root / "imported"


def _files(folder: Path) -> dict[str, bytes]:
    return {p.relative_to(folder).as_posix(): p.read_bytes() for p in folder.rglob("*") if p.is_file()}


def _variants(real_photos, folder: Path, n: int) -> None:
    """n distinct person photos (a few pixels changed so each has its own content hash)."""
    folder.mkdir(parents=True, exist_ok=True)
    base = np.asarray(real_photos["grace_hopper"].resize((192, 225))).copy()
    for i in range(n):
        img = base.copy()
        img[0, i] = (i * 7 % 255, 0, 0)
        Image.fromarray(img).save(folder / f"p{i:02d}.png")


def test_the_sample_annotated_on_ray_gives_the_same_files_and_manifest_as_a_local_run(imported, on_cluster,
                                                                                       tmp_path):
    local = annotate_dataset(imported, tmp_path / "local", AnnotateParams(**SMALL), tmp_path / "cache-local")
    ray_settings = AnnotateParams(**SMALL, executor="ray", ray={"actors": 2, "num_cpus": 1})
    on_ray = annotate_dataset(imported, tmp_path / "ray", ray_settings, tmp_path / "cache-ray")
    n = local.report.total
    assert n >= 10 and on_ray.report.done == local.report.done == n
    assert on_ray.report.model_calls == local.report.model_calls
    assert on_ray.report.quarantined == local.report.quarantined >= 1  # the photo with nobody in it
    assert on_ray.report.retried_shards == 0
    assert on_ray.manifest.equals(local.manifest)
    assert _files(tmp_path / "ray") == _files(tmp_path / "local")
    # The replacement actor removed the scratch folder the killed one left; the others removed their own.
    assert not list(on_cluster["scratch"].glob("vton-annotate-*"))
    # The driver's cache learnt everything: a local re-run over the Ray cache does no work.
    again = annotate_dataset(imported, tmp_path / "ray", AnnotateParams(**SMALL), tmp_path / "cache-ray")
    assert again.report.cached == n and again.report.model_calls == 0
    assert again.manifest.equals(local.manifest)


def test_a_driver_outside_the_cluster_annotates_through_ray_client_with_the_same_outputs(real_photos, ray_cluster,
                                                                                       tmp_path, monkeypatch):
    # How the annotate stage's pod reaches a KubeRay cluster (infra/README.md): RAY_ADDRESS=ray://head:10001.
    _variants(real_photos, tmp_path / "photos", 2)
    local = annotate_folder(tmp_path / "photos", tmp_path / "local", AnnotateParams(**SMALL), tmp_path / "cache-local",
                            ["upper_body"])
    monkeypatch.setenv("RAY_ADDRESS", ray_cluster["client"])
    ray_settings = AnnotateParams(**SMALL, executor="ray", ray={"actors": 2})
    on_ray = annotate_folder(tmp_path / "photos", tmp_path / "ray", ray_settings, tmp_path / "cache-ray",
                             ["upper_body"])
    assert on_ray.report.done == 2 and on_ray.report.model_calls == local.report.model_calls
    assert on_ray.manifest.equals(local.manifest)
    assert _files(tmp_path / "ray") == _files(tmp_path / "local")


def test_samples_whose_person_maps_are_cached_are_rendered_on_ray_without_model_calls(real_photos, on_cluster,
                                                                                     tmp_path):
    _variants(real_photos, tmp_path / "photos", 2)
    ray_settings = AnnotateParams(**SMALL, executor="ray", ray={"actors": 2})
    first = annotate_folder(tmp_path / "photos", tmp_path / "out", ray_settings, tmp_path / "cache", ["upper_body"])
    assert first.report.model_calls == 6  # pose, person mask, parse per photo
    # A new category: new samples of the same persons, whose maps the driver ships to the actors.
    second = annotate_folder(tmp_path / "photos", tmp_path / "out", ray_settings, tmp_path / "cache",
                             ["upper_body", "dresses"])
    assert second.report.cached == 2 and second.report.done == 2 and second.report.model_calls == 0


def test_a_worker_killed_mid_shard_has_its_shard_retried_and_nothing_is_lost_or_recorded_twice(
        real_photos, on_cluster, tmp_path, monkeypatch):
    import psutil

    _variants(real_photos, tmp_path / "photos", 4)
    local = annotate_folder(tmp_path / "photos", tmp_path / "local", AnnotateParams(**SMALL), tmp_path / "cache-local",
                            ["upper_body"])
    recorded: list[str] = []
    save_record = AnnotateCache.save_record

    def counting(self, key, row, out_dir, files):
        recorded.append(key)
        return save_record(self, key, row, out_dir, files)

    monkeypatch.setattr(AnnotateCache, "save_record", counting)  # the driver's cache: workers run elsewhere
    killed: list[int] = []
    stop = threading.Event()

    def kill_the_first_busy_actor() -> None:
        # Ray titles an actor process `ray::ShardActor.run` while it runs a shard.
        while not stop.is_set() and not killed:
            for p in psutil.process_iter(["pid", "cmdline"]):
                if (p.info["cmdline"] or [""])[0].startswith("ray::ShardActor.run"):
                    os.kill(p.info["pid"], signal.SIGKILL)
                    killed.append(p.info["pid"])
                    return
            time.sleep(0.02)

    killer = threading.Thread(target=kill_the_first_busy_actor, daemon=True)
    killer.start()
    try:
        ray_settings = AnnotateParams(**SMALL, executor="ray", ray={"actors": 2, "max_retries": 2})
        result = annotate_folder(tmp_path / "photos", tmp_path / "ray", ray_settings, tmp_path / "cache-ray",
                                 ["upper_body"])
    finally:
        stop.set()
        killer.join()
    assert killed, "no actor was caught running a shard"
    assert result.report.retried_shards >= 1
    assert "retried after a worker died" in result.report.summary()
    assert result.report.done == 4 and (result.manifest["status"] == "ok").all()
    assert sorted(recorded) == sorted(set(recorded)) and len(recorded) == 4  # each sample recorded once
    assert result.manifest.equals(local.manifest)
    assert _files(tmp_path / "ray") == _files(tmp_path / "local")
    # The replacement actor removed the scratch folder the killed one left; the others removed their own.
    assert not list(on_cluster["scratch"].glob("vton-annotate-*"))


def test_a_shard_whose_worker_dies_past_max_retries_is_quarantined_uncached_and_the_next_run_annotates_it(
        real_photos, on_cluster, tmp_path):
    import psutil

    _variants(real_photos, tmp_path / "photos", 3)
    killed: list[int] = []
    stop = threading.Event()

    def kill_the_first_busy_actor() -> None:
        while not stop.is_set() and not killed:
            for p in psutil.process_iter(["pid", "cmdline"]):
                if (p.info["cmdline"] or [""])[0].startswith("ray::ShardActor.run"):
                    os.kill(p.info["pid"], signal.SIGKILL)
                    killed.append(p.info["pid"])
                    return
            time.sleep(0.02)

    killer = threading.Thread(target=kill_the_first_busy_actor, daemon=True)
    killer.start()
    try:
        ray_settings = AnnotateParams(**SMALL, executor="ray", ray={"actors": 1, "max_retries": 0})
        result = annotate_folder(tmp_path / "photos", tmp_path / "out", ray_settings, tmp_path / "cache",
                                 ["upper_body"])
    finally:
        stop.set()
        killer.join()
    assert killed and result.report.retried_shards == 1
    lost = result.manifest[result.manifest["status"] == "quarantined"]
    assert len(lost) == 1 and lost["quarantine_reason"].iloc[0].startswith(
        "annotate error: the Ray worker annotating this shard died 1 time")
    assert (result.manifest["status"] == "ok").sum() == 2  # the other shards were not held back
    again = annotate_folder(tmp_path / "photos", tmp_path / "out", AnnotateParams(**SMALL), tmp_path / "cache",
                            ["upper_body"])
    assert again.report.cached == 2 and again.report.done == 1 and (again.manifest["status"] == "ok").all()


def test_workers_running_other_annotate_code_than_the_driver_are_refused_before_any_work(real_photos, on_cluster,
                                                                                           tmp_path, monkeypatch):
    import components.annotate.executors.ray_executor as ray_executor
    from components.errors import ConfigError

    _variants(real_photos, tmp_path / "photos", 1)
    # The driver's rendering code as if it were one commit ahead of the workers' image.
    monkeypatch.setattr(ray_executor, "render_code_digest", lambda: "0" * 64)
    with pytest.raises(ConfigError, match="runs different annotate code") as err:
        annotate_folder(tmp_path / "photos", tmp_path / "out", AnnotateParams(**SMALL, executor="ray"),
                        tmp_path / "cache", ["upper_body"])
    assert "build the worker image from this commit" in str(err.value)
    assert not list((tmp_path / "out").rglob("*.png"))
