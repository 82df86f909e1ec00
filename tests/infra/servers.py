"""Real servers on 127.0.0.1 for the infra tests: PostgreSQL, moto (S3), MLflow and Prefect.

Each starts as a subprocess in a temp folder, is waited for over its health endpoint, and is stopped by
the fixture that started it. `unavailable(...)` returns why a binary is missing so a test can skip honestly.
"""

from __future__ import annotations

import glob
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

import pytest

BIN = Path(sys.executable).parent
ACCESS_KEY, SECRET_KEY = "vton-test-key", "vton-test-secret"


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_http(url: str, proc: subprocess.Popen | None, timeout: float, log: Path | None = None) -> None:
    """Poll `url` until it answers 200; fail with the server's log if it exits or takes too long."""
    import httpx

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc is not None and proc.poll() is not None:
            raise RuntimeError(f"server for {url} exited ({proc.returncode}):\n{_tail(log)}")
        try:
            if httpx.get(url, timeout=2).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.3)
    raise TimeoutError(f"{url} not healthy after {timeout}s:\n{_tail(log)}")


def _tail(log: Path | None) -> str:
    return log.read_text()[-3000:] if log and log.is_file() else ""


def stop(proc: subprocess.Popen) -> None:
    """Stop a server we started (its whole process group), politely first."""
    if proc.poll() is not None:
        return
    os.killpg(proc.pid, signal.SIGTERM)
    try:
        proc.wait(timeout=5)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait(timeout=5)


def spawn(cmd: list[str], log: Path, env: dict[str, str] | None = None, **kw) -> subprocess.Popen:
    """Start `cmd` in its own process group with output to `log`."""
    fh = open(log, "wb")  # noqa: SIM115 - the child owns it for its lifetime
    return subprocess.Popen(
        cmd, stdout=fh, stderr=subprocess.STDOUT, env={**os.environ, **(env or {})}, start_new_session=True, **kw
    )


# ---------------------------------------------------------------- PostgreSQL


def postgres_bindir() -> Path | None:
    """The directory holding initdb/pg_ctl (Debian puts them under /usr/lib/postgresql/<ver>/bin)."""
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"))
    if found:
        return Path(found[-1]).parent
    which = shutil.which("initdb")
    return Path(which).parent if which else None


@dataclass
class Postgres:
    """A throwaway PostgreSQL cluster listening on 127.0.0.1:port with a password-protected superuser."""

    port: int
    user: str = "vton"
    password: str = "vton-test-pw"
    datadir: Path = field(default_factory=Path)
    _run_as: list[str] = field(default_factory=list)
    _bindir: Path = field(default_factory=Path)

    def url(self, database: str, driver: str = "") -> str:
        """A SQLAlchemy-style URL for `database` (driver e.g. `+psycopg2`, `+asyncpg`)."""
        return f"postgresql{driver}://{self.user}:{self.password}@127.0.0.1:{self.port}/{database}"

    def create_database(self, name: str) -> None:
        """CREATE DATABASE `name` owned by the superuser."""
        import psycopg2

        conn = psycopg2.connect(self.url("postgres"))
        conn.autocommit = True
        with conn.cursor() as cur:
            cur.execute(f'CREATE DATABASE "{name}"')
        conn.close()

    def stop(self) -> None:
        """pg_ctl stop (fast) and remove the cluster."""
        subprocess.run(
            [*self._run_as, str(self._bindir / "pg_ctl"), "-D", str(self.datadir), "-m", "fast", "-w", "stop"],
            capture_output=True,
        )
        shutil.rmtree(self.datadir.parent, ignore_errors=True)


def start_postgres() -> Postgres:
    """initdb + pg_ctl start in a fresh temp dir; as the `postgres` user when we are root (postgres refuses root)."""
    bindir = postgres_bindir()
    if bindir is None:
        raise FileNotFoundError("initdb")
    base = Path(tempfile.mkdtemp(prefix="vton-pg-"))
    run_as: list[str] = []
    if os.geteuid() == 0:
        shutil.chown(base, "postgres", "postgres")
        run_as = ["runuser", "-u", "postgres", "--"]
    pg = Postgres(port=free_port(), datadir=base / "data", _run_as=run_as, _bindir=bindir)
    pwfile = base / "pw"
    pwfile.write_text(pg.password + "\n")
    if run_as:
        shutil.chown(pwfile, "postgres", "postgres")
    subprocess.run(
        [*run_as, str(bindir / "initdb"), "-D", str(pg.datadir), "-U", pg.user, f"--pwfile={pwfile}",
         "--auth-host=scram-sha-256", "--auth-local=trust", "-E", "UTF8", "--no-sync"],
        check=True, capture_output=True,
    )
    opts = f"-c listen_addresses=127.0.0.1 -p {pg.port} -k {base} -c fsync=off -c max_connections=200"
    subprocess.run(
        [*run_as, str(bindir / "pg_ctl"), "-D", str(pg.datadir), "-o", opts, "-l", str(base / "log"), "-w", "start"],
        check=True, capture_output=True,
    )
    return pg


# ---------------------------------------------------------------- moto (S3)


def start_moto(log_dir: Path) -> tuple[subprocess.Popen, str]:
    """`moto_server` on a free port; returns the process and its endpoint URL."""
    port = free_port()
    proc = spawn([str(BIN / "moto_server"), "-H", "127.0.0.1", "-p", str(port)], log_dir / f"moto-{port}.log")
    url = f"http://127.0.0.1:{port}"
    wait_http(url + "/moto-api/", proc, 30, log_dir / f"moto-{port}.log")
    return proc, url


def s3_env(endpoint: str) -> dict[str, str]:
    """The client environment for an S3 endpoint (what infra/env/team.env sets)."""
    return {
        "VTON_S3_ENDPOINT_URL": endpoint,
        "MLFLOW_S3_ENDPOINT_URL": endpoint,
        "AWS_ACCESS_KEY_ID": ACCESS_KEY,
        "AWS_SECRET_ACCESS_KEY": SECRET_KEY,
        "AWS_DEFAULT_REGION": "us-east-1",
    }


# ---------------------------------------------------------------- MLflow and Prefect


def start_mlflow(
    pg: Postgres, s3_endpoint: str, bucket: str, log_dir: Path, wait: bool = True
) -> tuple[subprocess.Popen, str]:
    """`mlflow server` on PostgreSQL with `--serve-artifacts` into s3://bucket/artifacts."""
    port = free_port()
    log = log_dir / "mlflow.log"
    proc = spawn(
        [str(BIN / "mlflow"), "server", "--host", "127.0.0.1", "--port", str(port), "--workers", "1",
         "--backend-store-uri", pg.url("mlflow", "+psycopg2"),
         "--artifacts-destination", f"s3://{bucket}/artifacts", "--serve-artifacts"],
        log, env=s3_env(s3_endpoint),
    )
    url = f"http://127.0.0.1:{port}"
    if wait:
        wait_http(url + "/health", proc, 180, log)
    return proc, url


def start_prefect(pg: Postgres, home: Path, log_dir: Path, wait: bool = True) -> tuple[subprocess.Popen, str]:
    """`prefect server start` on PostgreSQL (asyncpg), UI off."""
    port = free_port()
    log = log_dir / "prefect.log"
    env = {
        "PREFECT_HOME": str(home),
        "PREFECT_API_DATABASE_CONNECTION_URL": pg.url("prefect", "+asyncpg"),
        "PREFECT_SERVER_ANALYTICS_ENABLED": "false",
        "PREFECT_UI_ENABLED": "false",
        "PREFECT_API_URL": "",
    }
    proc = spawn([str(BIN / "prefect"), "server", "start", "--host", "127.0.0.1", "--port", str(port)], log, env=env)
    url = f"http://127.0.0.1:{port}/api"
    if wait:
        wait_http(url + "/health", proc, 180, log)
    return proc, url


@pytest.fixture(scope="module")
def s3_endpoint(tmp_path_factory):
    """An S3 API on loopback (moto_server) for one test module, e.g. for a shared cache; stopped after it."""
    proc, url = start_moto(tmp_path_factory.mktemp("s3-logs"))
    yield url
    stop(proc)
