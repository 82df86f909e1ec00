"""A real Ray cluster on 127.0.0.1 for the executor tests: a head and two worker nodes, each its own `ray start`.

The head holds no CPUs, so every actor runs on one of the two worker nodes (one CPU each), as on a cluster
whose driver is not a worker. Token authentication with a token of this test process, so nothing depends on a
~/.ray/auth_token. Every node is started in its own session and stopped by pid: only its own processes.
Test modules start one cluster each (module-scoped fixtures `ray_cluster` and `on_cluster`, imported from here),
with the environment its workers need: a module gives its workers more by defining its own `ray_worker_env`.
"""

from __future__ import annotations

import atexit
import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
# Ray titles an actor process `ray::<Class>.<method>` while it runs that method.
BUSY_TITLE = "ray::{cls}.run"


def free_port() -> int:
    """A TCP port free on loopback now."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def ray_cli() -> str:
    """The `ray` command of this interpreter's environment."""
    here = Path(sys.executable).parent / "ray"
    return str(here) if here.is_file() else (shutil.which("ray") or "ray")


def session_pids(sid: int) -> list[int]:
    """Every live process of the session `sid` (a `ray start` started as a session leader): its children too."""
    import psutil

    pids = []
    for p in psutil.process_iter(["pid"]):
        try:
            if os.getsid(p.info["pid"]) == sid:
                pids.append(p.info["pid"])
        except (ProcessLookupError, PermissionError):
            pass
    return pids


_TOKEN: list[Path] = []


def _process_token() -> Path:
    """One token file for every cluster this process starts: Ray reads the token once per process, so a second
    cluster with a token of its own would refuse this process's connections (ConnectionError)."""
    if not _TOKEN:
        fd, path = tempfile.mkstemp(prefix="vton-ray-token-")
        os.write(fd, secrets.token_hex(32).encode())
        os.close(fd)
        _TOKEN.append(Path(path))
        atexit.register(_TOKEN[0].unlink, missing_ok=True)
    return _TOKEN[0]


def _refresh_ray_config() -> None:
    """Make this process's Ray re-read its config (the auth mode) from the environment, as Ray itself does when
    it turns token authentication on: it caches RAY_AUTH_MODE when first imported."""
    from ray._raylet import Config

    Config.initialize("")


class RayCluster:
    """`ray start --head` plus `workers` worker nodes (`ray start --address`), all on 127.0.0.1."""

    def __init__(self, workers: int = 2, cpus_per_worker: int = 1, env: dict[str, str] | None = None) -> None:
        self.temp = Path(tempfile.mkdtemp(prefix="vr", dir="/tmp"))  # short: Ray's socket paths stay < 108 chars
        self.scratch = self.temp / "tmp"  # the actors' scratch folders (tempfile): removed with the cluster
        self.scratch.mkdir()
        self.auth = {"RAY_AUTH_MODE": "token", "RAY_AUTH_TOKEN_PATH": str(_process_token())}
        # Token authentication for the rest of this process, never switched back: Ray caches the auth mode (read
        # when it was imported, so refreshed here) and a local Ray a later test starts must agree with it.
        os.environ.update(self.auth)
        _refresh_ray_config()
        self.env = {**os.environ, **(env or {}), "PYTHONPATH": str(REPO), "RAY_USAGE_STATS_ENABLED": "0",
                    "TMPDIR": str(self.scratch)}
        port, client_port = free_port(), free_port()
        self.address = f"127.0.0.1:{port}"
        self.client = f"ray://127.0.0.1:{client_port}"
        self.nodes: list[subprocess.Popen] = []
        self.logs: list[Path] = []
        try:
            self.head = self._start(["--head", "--port", str(port), "--num-cpus", "0", "--ray-client-server-port",
                                     str(client_port), "--include-dashboard=false"])
            self._wait_for_port(port)
            self._join_workers(workers, cpus_per_worker)
        except BaseException:
            self.stop()
            raise

    def _start(self, args: list[str]) -> subprocess.Popen:
        # Every port of the node chosen free here: several nodes share this host (other test runs may too), and
        # Ray's fixed defaults (the dashboard agent's 52365, say) would collide.
        ports = [f"--{name}={free_port()}" for name in (
            "node-manager-port", "object-manager-port", "metrics-export-port", "dashboard-agent-listen-port",
            "dashboard-agent-grpc-port", "runtime-env-agent-port")]
        log = self.temp / f"node-{len(self.nodes)}.log"
        with log.open("wb") as fh:
            proc = subprocess.Popen(
                [ray_cli(), "start", "--node-ip-address", "127.0.0.1", *args, *ports, "--disable-usage-stats",
                 "--temp-dir", str(self.temp), "--block"],
                env=self.env, stdout=fh, stderr=subprocess.STDOUT, start_new_session=True)
        self.nodes.append(proc)
        self.logs.append(log)
        return proc

    def _log_tail(self) -> str:
        return "\n".join(f"{log.name}: {log.read_text(errors='replace')[-1500:]}" for log, proc in
                         zip(self.logs, self.nodes) if proc.poll() is not None)

    def _wait_for_port(self, port: int, timeout: float = 90) -> None:
        deadline = time.monotonic() + timeout
        while True:
            if self.head.poll() is not None:
                raise RuntimeError(f"`ray start --head` exited with {self.head.returncode}\n{self._log_tail()}")
            try:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
                return
            except OSError:
                if time.monotonic() > deadline:
                    raise TimeoutError(f"no Ray head on {self.address} after {timeout} s") from None
                time.sleep(0.5)

    def _join_workers(self, workers: int, cpus: int, attempts: int = 3, timeout: float = 120) -> None:
        """Start the worker nodes one after another, each until it registered with the head.

        `ray start` gives a node's raylet a fixed 30 s to register and exits otherwise, which a loaded shared
        machine can exceed: such a node is started again (up to `attempts` times)."""
        import ray

        self._connect(ray)
        self.workers: list[subprocess.Popen] = []
        try:
            for _ in range(workers):
                for attempt in range(1, attempts + 1):
                    proc = self._start(["--address", self.address, "--num-cpus", str(cpus)])
                    if self._registered(ray, len(self.workers) + 2, proc, timeout):
                        self.workers.append(proc)
                        break
                    self._kill(proc)  # its raylet may still be starting: never let it join late
                    if attempt == attempts:
                        raise RuntimeError(f"a Ray worker node did not join in {attempts} tries\n{self._log_tail()}")
            self.worker_node_ids = [node["NodeID"] for node in ray.nodes()
                                    if node["Alive"] and node["Resources"].get("CPU", 0) > 0]
        finally:
            ray.shutdown()

    def _connect(self, ray, timeout: float = 120) -> None:
        """ray.init on the head, again while it refuses: its port opens before its GCS answers, which takes longer
        than ray.init waits on a loaded machine (ConnectionError: Failed to connect to Ray cluster)."""
        deadline = time.monotonic() + timeout
        while True:
            try:
                ray.init(address=self.address, log_to_driver=False)  # waits for the head's raylet to register
                return
            except ConnectionError:
                ray.shutdown()
                if self.head.poll() is not None or time.monotonic() > deadline:
                    raise
                time.sleep(2)

    @staticmethod
    def _registered(ray, n: int, proc: subprocess.Popen, timeout: float) -> bool:
        """Whether `n` nodes are alive before `proc` (the newest node's `ray start`) exits or `timeout` passes."""
        deadline = time.monotonic() + timeout
        while sum(1 for node in ray.nodes() if node["Alive"]) < n:
            if proc.poll() is not None or time.monotonic() > deadline:
                return False
            time.sleep(0.5)
        return True

    @staticmethod
    def _kill(proc: subprocess.Popen) -> None:
        """SIGKILL every process of one node's session, by pid."""
        for pid in session_pids(proc.pid):
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
        proc.wait(timeout=10)

    def stop(self) -> None:
        """SIGTERM each `ray start --block` group, then SIGKILL whatever of its session is left, by pid."""
        for proc in reversed(self.nodes):
            try:
                os.killpg(proc.pid, signal.SIGTERM)
            except ProcessLookupError:
                pass
        for proc in reversed(self.nodes):
            try:
                proc.wait(timeout=5)
            except subprocess.TimeoutExpired:
                pass
            self._kill(proc)
        shutil.rmtree(self.temp, ignore_errors=True)


def on_worker_node(cluster: RayCluster, pid: int) -> bool:
    """Whether process `pid` belongs to one of the cluster's worker nodes (their `ray start` sessions)."""
    try:
        return os.getsid(pid) in {proc.pid for proc in cluster.workers}
    except (ProcessLookupError, PermissionError):
        return False


def kill_first_busy(cls: str, cluster: RayCluster, killed: list[int], stop) -> None:
    """SIGKILL, once, the first process of a worker node titled `ray::<cls>.run` (an actor mid-shard); poll
    until `stop` is set."""
    import psutil

    title = BUSY_TITLE.format(cls=cls)
    while not stop.is_set() and not killed:
        for p in psutil.process_iter(["pid", "cmdline"]):
            if (p.info["cmdline"] or [""])[0].startswith(title) and on_worker_node(cluster, p.info["pid"]):
                os.kill(p.info["pid"], signal.SIGKILL)
                killed.append(p.info["pid"])
                return
        time.sleep(0.02)


def tree(folder: Path) -> dict[str, bytes]:
    """{relative path: bytes} of every file under `folder`."""
    return {p.relative_to(folder).as_posix(): p.read_bytes() for p in folder.rglob("*") if p.is_file()}


@pytest.fixture(scope="module")
def ray_worker_env() -> dict[str, str]:
    """What the worker nodes' own environment holds beyond this process's: nothing unless a module overrides this
    (e.g. with an S3 endpoint and credentials, as a cluster's pods would have them)."""
    return {}


@pytest.fixture(scope="module")
def ray_cluster(ray_worker_env):
    """A head with no CPUs and two worker nodes of one CPU each: every actor runs on a worker node."""
    cluster = RayCluster(workers=2, env=ray_worker_env or None)
    yield cluster
    cluster.stop()


@pytest.fixture
def on_cluster(ray_cluster, monkeypatch):
    """The cluster, with RAY_ADDRESS pointing this test's drivers at it."""
    monkeypatch.setenv("RAY_ADDRESS", ray_cluster.address)
    return ray_cluster
