"""Prefect's temporary local server, started at the beginning of `vton retrain` instead of at the first flow call.

With no PREFECT_API_URL, Prefect starts the same server by itself (`SubprocessASGIServer`: uvicorn running
`prefect.server.api.server:create_app` with the UI off) when the flow first needs its API; importing that
class alone imports Prefect's whole server package into the retrain's process, and the server's own start-up
(imports, database migrations, services) then runs while the retrain waits. Started here, before the retrain
imports Prefect and MLflow, the server starts on the other core while those imports run, and the retrain talks
to it as it would to any server (PREFECT_API_URL). The flow run, its task runs, logs and artifacts land in the
same database ($PREFECT_HOME/prefect.db) as with Prefect's own temporary server.

A server `prefect server start --background` left running for this PREFECT_HOME (Prefect's own `server.pid` in
PREFECT_HOME names it) is reused instead: no server start at all, and its UI shows the run live. vton never
starts such a server itself (no background process a user did not ask for); `prefect server stop` stops it.

Database migrations are skipped only when the database is at the revision a previous start of this Prefect
version migrated it to (a marker beside the database); any doubt (another Prefect version, a database
configured elsewhere, no marker) keeps Prefect's default of migrating on start.

This module imports neither Prefect nor MLflow: it runs before them.
"""

from __future__ import annotations

import atexit
import contextlib
import importlib.metadata
import importlib.util
import json
import os
import socket
import sqlite3
import subprocess
import sys
import time
import tomllib
import urllib.request
from dataclasses import dataclass
from pathlib import Path

from components.errors import VtonError
from components.processes import process_alive

SERVER_PID_FILE = "server.pid"  # what `prefect server start --background` writes into PREFECT_HOME
MARKER = "vton-migrated.json"  # beside prefect.db: {"prefect": version, "revision": alembic revision}
# Files in the working directory through which Prefect 3 may be configured (then Prefect decides, not us).
_LOCAL_SETTINGS = ("prefect.toml", ".env")


def prefect_home() -> Path:
    """$PREFECT_HOME, as Prefect resolves it (default ~/.prefect)."""
    return Path(os.environ.get("PREFECT_HOME") or Path.home() / ".prefect").expanduser()


def _active_profile_settings(home: Path) -> dict[str, str] | None:
    """The settings of the active profile in profiles.toml ({} without one); None when it cannot be read."""
    path = Path(os.environ.get("PREFECT_PROFILES_PATH", "").replace("$PREFECT_HOME", str(home))
                or home / "profiles.toml")
    if not path.is_file():
        return {}
    try:
        data = tomllib.loads(path.read_text())
    except (OSError, tomllib.TOMLDecodeError):
        return None
    active = os.environ.get("PREFECT_PROFILE") or data.get("active") or "ephemeral"
    return {str(k): str(v) for k, v in (data.get("profiles", {}).get(active) or {}).items()}


def _configured_elsewhere(cwd: Path) -> bool:
    """True when prefect.toml, .env or pyproject's [tool.prefect] may configure Prefect: leave it to Prefect."""
    if any((cwd / name).is_file() for name in _LOCAL_SETTINGS):
        return True
    pyproject = cwd / "pyproject.toml"
    return pyproject.is_file() and "[tool.prefect" in pyproject.read_text(errors="replace")


def wanted(cwd: Path | None = None) -> bool:
    """True when Prefect would start its own temporary server: no API URL configured anywhere we can see."""
    if os.environ.get("PREFECT_API_URL") or os.environ.get("VTON_PREFECT_EARLY_SERVER") == "0":
        return False
    if os.environ.get("PREFECT_SERVER_EPHEMERAL_ENABLED", "").lower() in ("0", "false"):
        return False
    profile = _active_profile_settings(prefect_home())
    if profile is None or "PREFECT_API_URL" in profile:
        return False
    return not _configured_elsewhere(cwd or Path.cwd())


def _database_settings(profile: dict[str, str]) -> bool:
    return any(k.startswith("PREFECT_") and "DATABASE" in k for k in (*os.environ, *profile))


def _revision(db: Path) -> str | None:
    """The alembic revision stored in Prefect's SQLite database, or None (no database, no table)."""
    if not db.is_file():
        return None
    try:
        with contextlib.closing(sqlite3.connect(f"file:{db}?mode=ro", uri=True, timeout=5)) as conn:
            row = conn.execute("SELECT version_num FROM alembic_version").fetchone()
    except sqlite3.Error:
        return None
    return row[0] if row else None


def _prefect_version() -> str:
    return importlib.metadata.version("prefect")


def migrations_needed(home: Path) -> bool:
    """False only when the default database is at the revision this Prefect version last migrated it to."""
    profile = _active_profile_settings(home)
    if profile is None or _database_settings(profile):
        return True  # a database configured elsewhere: we cannot tell, let Prefect migrate as it always does
    try:
        marker = json.loads((home / MARKER).read_text())
    except (OSError, ValueError):
        return True
    current = _revision(home / "prefect.db")
    return not (current and marker.get("prefect") == _prefect_version() and marker.get("revision") == current)


def _option(args: list[str], name: str) -> str | None:
    """The value of `--name VALUE` or `--name=VALUE` in a command line, or None."""
    for i, arg in enumerate(args):
        if arg == name and i + 1 < len(args):
            return args[i + 1]
        if arg.startswith(name + "="):
            return arg.split("=", 1)[1]
    return None


def _server_address(pid: int, profile: dict[str, str]) -> tuple[str, str] | None:
    """(host, port) the Prefect server process `pid` listens on; None when `pid` is not a Prefect server."""
    try:
        args = Path(f"/proc/{pid}/cmdline").read_bytes().decode(errors="replace").split("\0")
    except OSError:
        return None  # not Linux, or the process is gone: no way to tell what it is
    if not any("prefect.server.api.server:create_app" in a for a in args):
        return None  # the pid file outlived its server and the pid now names another process
    def setting(key: str, default: str) -> str:  # where `prefect server start` took it from without --host/--port
        return os.environ.get(key) or profile.get(key) or default

    host = _option(args, "--host") or setting("PREFECT_SERVER_API_HOST", "127.0.0.1")
    port = _option(args, "--port") or setting("PREFECT_SERVER_API_PORT", "4200")
    if host in ("0.0.0.0", ""):
        host = "127.0.0.1"
    elif host == "::":
        host = "::1"
    return (f"[{host}]" if ":" in host else host), port


def running_server(home: Path | None = None, timeout: float = 2.0) -> str | None:
    """The API URL of the server `prefect server start --background` runs for `home` (PREFECT_HOME), if it
    answers /health; else None (no pid file, a stale one, a process that is no Prefect server, no answer)."""
    home = home or prefect_home()
    try:
        pid = int((home / SERVER_PID_FILE).read_text().strip())
    except (OSError, ValueError):
        return None
    profile = _active_profile_settings(home)
    if profile is None or not process_alive(pid):
        return None
    address = _server_address(pid, profile)
    if address is None:
        return None
    api = f"http://{address[0]}:{address[1]}/api"
    try:
        with urllib.request.urlopen(f"{api}/health", timeout=timeout) as response:
            return api if response.status == 200 else None
    except (OSError, ValueError):
        return None


def use_running_server(home: Path | None = None) -> str | None:
    """Point this process's Prefect at the background server of this PREFECT_HOME when one answers; its URL."""
    api = running_server(home)
    if api is not None:
        os.environ["PREFECT_API_URL"] = api
    return api


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _die_with_parent() -> None:  # pragma: no cover - runs in the child between fork and exec
    """Linux: the server gets SIGTERM when the retrain's process dies, even by SIGKILL (no orphaned server)."""
    import ctypes
    import signal

    with contextlib.suppress(Exception):
        ctypes.CDLL("libc.so.6", use_errno=True).prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG


@dataclass
class TemporaryServer:
    """A Prefect server process for one retrain; `wait()` before the first API call, `stop()` at exit."""

    process: subprocess.Popen
    port: int
    home: Path
    migrate: bool
    started: float

    @property
    def api_url(self) -> str:
        """The URL the retrain's Prefect client uses (PREFECT_API_URL)."""
        return f"http://127.0.0.1:{self.port}/api"

    def wait(self, timeout: float | None = None) -> float:
        """Block until the server answers /health; seconds since it was started. Raises when it cannot start."""
        limit = timeout or float(os.environ.get("PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS") or 20)
        deadline = self.started + limit
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise VtonError(f"Prefect's temporary server exited with code {self.process.returncode} on start",
                                hint="run `prefect server start` to see why, or set PREFECT_API_URL to a "
                                "running server")
            try:
                with urllib.request.urlopen(f"{self.api_url}/health", timeout=2) as response:
                    if response.status == 200:
                        break
            except OSError:
                time.sleep(0.05)
        else:
            self.stop()
            raise VtonError(f"Prefect's temporary server did not answer within {limit:.0f}s",
                            hint="raise PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS on a busy machine, or "
                            "set PREFECT_API_URL to a running server")
        if self.migrate:
            self._record_migrated()
        return time.monotonic() - self.started

    def _record_migrated(self) -> None:
        """After a start that ran the migrations: the database is at this Prefect version's head revision."""
        revision = _revision(self.home / "prefect.db")
        if revision:
            with contextlib.suppress(OSError):
                (self.home / MARKER).write_text(json.dumps({"prefect": _prefect_version(), "revision": revision}))

    def flow_settings(self) -> contextlib.AbstractContextManager:
        """Prefect settings for the retrain's flow run on this server: no flow-run heartbeats. They tell a server
        that a run is alive, and this one stops with the retrain; and a flow that ends waits up to a second for
        Prefect's heartbeat thread (it sleeps in whole seconds). Call after Prefect is imported."""
        from prefect.settings import PREFECT_FLOWS_HEARTBEAT_FREQUENCY, temporary_settings

        return temporary_settings(updates={PREFECT_FLOWS_HEARTBEAT_FREQUENCY: None})

    def stop(self) -> None:
        """Terminate the server (what Prefect's own temporary server does at exit)."""
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=5)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()


def start() -> TemporaryServer:
    """Start the server (not yet healthy) and point this process's Prefect at it; stopped at interpreter exit.

    The stop is registered before Prefect is imported, so it runs after Prefect's own exit hooks have sent the
    last logs and events (atexit runs last-registered first)."""
    home = prefect_home()
    home.mkdir(parents=True, exist_ok=True)
    migrate = migrations_needed(home)
    port = _free_port()
    spec = importlib.util.find_spec("prefect")
    app_dir = str(Path(spec.origin).parent.parent) if spec and spec.origin else "."
    env = {**os.environ, "PREFECT_UI_ENABLED": "0", "PREFECT__SERVER_EPHEMERAL": "1", "PREFECT__SERVER_FINAL": "1",
           "PREFECT_SERVER_ANALYTICS_ENABLED": os.environ.get("PREFECT_SERVER_ANALYTICS_ENABLED", "false")}
    if not migrate:
        env["PREFECT_API_DATABASE_MIGRATE_ON_START"] = "false"
    process = subprocess.Popen(
        [sys.executable, "-m", "uvicorn", "--app-dir", app_dir, "--factory", "prefect.server.api.server:create_app",
         "--host", "127.0.0.1", "--port", str(port), "--log-level", "error", "--lifespan", "on"],
        env=env, stdin=subprocess.DEVNULL, preexec_fn=_die_with_parent if sys.platform == "linux" else None,
    )
    server = TemporaryServer(process, port, home, migrate, time.monotonic())
    atexit.register(server.stop)
    os.environ["PREFECT_API_URL"] = server.api_url
    # The server has no UI and stops with the retrain: no "View at http://127.0.0.1:<port>/..." link to a dead page.
    os.environ.setdefault("PREFECT_UI_URL", "")
    return server
