"""Prefect's temporary server as `vton retrain` starts it: when it is wanted, when migrations may be skipped, and a
real start (twice: migrating, then not) in a temp PREFECT_HOME."""

from __future__ import annotations

import json
import os
import sqlite3
import subprocess
import sys
import time

import pytest

from flows import prefect_server


@pytest.fixture
def home(tmp_path, monkeypatch):
    """An empty PREFECT_HOME, no API URL, no Prefect settings files in the working directory; env restored after."""
    saved = dict(os.environ)
    monkeypatch.setenv("PREFECT_HOME", str(tmp_path / "prefect"))
    monkeypatch.chdir(tmp_path)
    for name in ("PREFECT_API_URL", "PREFECT_UI_URL", "PREFECT_PROFILE", "PREFECT_PROFILES_PATH"):
        os.environ.pop(name, None)
    yield tmp_path / "prefect"
    os.environ.clear()
    os.environ.update(saved)


def _database_at(home, revision: str) -> None:
    home.mkdir(parents=True, exist_ok=True)
    with sqlite3.connect(home / "prefect.db") as conn:
        conn.execute("CREATE TABLE alembic_version (version_num VARCHAR(32) NOT NULL)")
        conn.execute("INSERT INTO alembic_version VALUES (?)", (revision,))


def test_the_server_is_started_only_where_prefect_would_start_its_own(home, tmp_path, monkeypatch):
    assert prefect_server.wanted()
    monkeypatch.setenv("PREFECT_API_URL", "http://127.0.0.1:4200/api")
    assert not prefect_server.wanted()  # a running server: use it
    monkeypatch.delenv("PREFECT_API_URL")
    home.mkdir()
    (home / "profiles.toml").write_text('active = "team"\n[profiles.team]\nPREFECT_API_URL = "http://srv:4200/api"\n')
    assert not prefect_server.wanted()  # the active profile names a server
    (home / "profiles.toml").unlink()
    (tmp_path / "prefect.toml").write_text("[api]\nurl = 'http://srv:4200/api'\n")
    assert not prefect_server.wanted()  # settings we do not read: Prefect decides


def test_migrations_are_skipped_only_at_the_revision_this_prefect_version_migrated_to(home, monkeypatch):
    assert prefect_server.migrations_needed(home)  # no database yet
    _database_at(home, "abc123")
    assert prefect_server.migrations_needed(home)  # no record of a migration by this version
    version = prefect_server._prefect_version()
    (home / prefect_server.MARKER).write_text(json.dumps({"prefect": version, "revision": "abc123"}))
    assert not prefect_server.migrations_needed(home)
    (home / prefect_server.MARKER).write_text(json.dumps({"prefect": "0.0.1", "revision": "abc123"}))
    assert prefect_server.migrations_needed(home)  # another Prefect version: its migrations may be new
    (home / prefect_server.MARKER).write_text(json.dumps({"prefect": version, "revision": "older"}))
    assert prefect_server.migrations_needed(home)
    (home / prefect_server.MARKER).write_text(json.dumps({"prefect": version, "revision": "abc123"}))
    monkeypatch.setenv("PREFECT_SERVER_DATABASE_CONNECTION_URL", "postgresql+asyncpg://db/prefect")
    assert prefect_server.migrations_needed(home)  # a database configured elsewhere is not ours to judge


@pytest.mark.slow
def test_a_started_server_answers_records_its_migration_and_next_time_starts_without_migrating(home):
    import urllib.request

    first = prefect_server.start()
    assert os.environ["PREFECT_API_URL"] == first.api_url and first.migrate
    try:
        first.wait(timeout=300)
        with urllib.request.urlopen(f"{first.api_url}/health", timeout=5) as response:
            assert response.status == 200
    finally:
        first.stop()
    assert first.process.poll() is not None
    marker = json.loads((home / prefect_server.MARKER).read_text())
    assert marker["prefect"] == prefect_server._prefect_version() and marker["revision"]

    second = prefect_server.start()
    try:
        assert not second.migrate
        second.wait(timeout=300)  # the database it did not migrate serves the API
        request = urllib.request.Request(f"{second.api_url}/flow_runs/filter", data=b"{}", method="POST",
                                         headers={"Content-Type": "application/json"})
        with urllib.request.urlopen(request, timeout=10) as response:
            assert response.status == 200 and json.loads(response.read()) == []
    finally:
        second.stop()


def test_a_flow_run_on_the_temporary_server_sends_no_heartbeats_and_other_runs_keep_them(home):
    """The temporary server stops with the retrain: nobody reads its heartbeats, and a flow waits for the thread."""
    from prefect.settings import get_current_settings

    server = prefect_server.TemporaryServer(process=None, port=1, home=home, migrate=False, started=0.0)
    default = get_current_settings().flows.heartbeat_frequency
    with server.flow_settings():
        assert get_current_settings().flows.heartbeat_frequency is None
    assert get_current_settings().flows.heartbeat_frequency == default and default is not None


def test_a_background_server_is_reused_only_when_its_pid_file_names_a_live_prefect_server(home, tmp_path):
    assert prefect_server.running_server(home) is None  # no pid file
    home.mkdir()
    pid_file = home / prefect_server.SERVER_PID_FILE
    pid_file.write_text("not a pid")
    assert prefect_server.running_server(home) is None
    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()
    pid_file.write_text(str(dead.pid))
    assert prefect_server.running_server(home) is None  # a stale pid file
    pid_file.write_text(str(os.getpid()))
    assert prefect_server.running_server(home) is None  # a live process, but no Prefect server
    assert prefect_server._option(["uvicorn", "--host", "::", "--port=4300"], "--port") == "4300"


@pytest.mark.slow
def test_a_server_started_with_prefect_server_start_background_is_found_by_its_pid_file_and_used(home):
    port = prefect_server._free_port()
    prefect = [sys.executable, "-m", "prefect", "server", "start"]
    started = subprocess.run([*prefect, "--background", "--host", "127.0.0.1", "--port", str(port)],
                             capture_output=True, text=True, timeout=120)
    assert started.returncode == 0, started.stdout + started.stderr
    try:
        api = None
        deadline = time.monotonic() + 300
        while api is None and time.monotonic() < deadline:
            api = prefect_server.use_running_server(home)
            time.sleep(0.5)
        assert api == f"http://127.0.0.1:{port}/api" == os.environ["PREFECT_API_URL"]
        assert not prefect_server.wanted()  # the URL is set now: no temporary server starts
    finally:
        subprocess.run([sys.executable, "-m", "prefect", "server", "stop"], capture_output=True, timeout=120)
    assert prefect_server.running_server(home) is None  # stopped: the next retrain starts a temporary one
