"""`vton doctor`: check every service the environment points `vton` at, and say how to fix what is down.

Checks the Prefect API, the MLflow tracking server, the S3 buckets (DVC remote, MLflow artifacts, model
store), the DVC remote and the database. A service that is not configured uses the embedded default and
is reported as `local`, not as a failure; anything configured but unreachable fails with exit code 1.
"""

from __future__ import annotations

import os
import socket
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlparse

import typer

OK, LOCAL, FAIL = "ok", "local", "FAIL"
TIMEOUT_S = 3.0
# Env vars that name an S3 location whose bucket must exist (who uses it, in the message).
BUCKET_ENV_VARS: dict[str, str] = {
    "VTON_DVC_REMOTE_URL": "DVC remote",
    "VTON_MLFLOW_ARTIFACTS_URL": "MLflow artifacts",
    "VTON_MODEL_STORE_URL": "model store",
}


@dataclass
class Check:
    """The outcome of one check: what, status (ok | local | FAIL), what was seen, and the fix when it failed."""

    name: str
    status: str
    detail: str
    fix: str = ""

    def render(self) -> str:
        """Aligned lines for the terminal; the fix on its own line."""
        line = f"{self.status:<5} {self.name:<10} {self.detail}"
        return line + (f"\n      fix: {self.fix}" if self.fix and self.status == FAIL else "")


def _http_get(url: str) -> tuple[int, str]:
    import httpx

    resp = httpx.get(url, timeout=TIMEOUT_S)
    return resp.status_code, resp.text[:200]


def check_prefect(env: dict[str, str]) -> Check:
    """PREFECT_API_URL answers /health, or Prefect runs embedded (no server configured)."""
    url = env.get("PREFECT_API_URL")
    if not url:
        return Check("prefect", LOCAL, "no PREFECT_API_URL: flows start a temporary local server")
    fix = "start it (`docker compose -f infra/compose.yaml up -d prefect-server`) or correct PREFECT_API_URL"
    try:
        code, body = _http_get(url.rstrip("/") + "/health")
    except Exception as exc:  # noqa: BLE001 - any transport error means unreachable
        return Check("prefect", FAIL, f"{url} unreachable ({type(exc).__name__}: {exc})", fix)
    if code != 200:
        return Check("prefect", FAIL, f"{url}/health answered HTTP {code}: {body}", fix)
    return Check("prefect", OK, f"{url} healthy")


def check_mlflow(env: dict[str, str]) -> Check:
    """MLFLOW_TRACKING_URI's server answers /health and lists experiments, or a local SQLite store is writable."""
    uri = env.get("MLFLOW_TRACKING_URI", "")
    if not uri.startswith(("http://", "https://")):
        path = uri.removeprefix("sqlite:///") if uri.startswith("sqlite:///") else "mlflow.db (project root)"
        return Check("mlflow", LOCAL, f"local store {path}")
    fix = "start it (`docker compose -f infra/compose.yaml up -d mlflow`) or correct MLFLOW_TRACKING_URI"
    try:
        code, body = _http_get(uri.rstrip("/") + "/health")
    except Exception as exc:  # noqa: BLE001
        return Check("mlflow", FAIL, f"{uri} unreachable ({type(exc).__name__}: {exc})", fix)
    if code != 200:
        return Check("mlflow", FAIL, f"{uri}/health answered HTTP {code}: {body}", fix)
    try:
        import httpx

        resp = httpx.post(
            uri.rstrip("/") + "/api/2.0/mlflow/experiments/search", json={"max_results": 1}, timeout=TIMEOUT_S
        )
        resp.raise_for_status()
    except Exception as exc:  # noqa: BLE001 - a healthy server whose store is broken (e.g. database down)
        return Check("mlflow", FAIL, f"{uri} is up but cannot read its store: {exc}", "check the server's logs and database")
    return Check("mlflow", OK, f"{uri} healthy")


def _bucket_error(bucket: str) -> str | None:
    """None when `bucket` exists and the credentials can list it, else the reason."""
    from components.storage.s3 import s3_client

    try:
        s3_client(max_attempts=1).list_objects_v2(Bucket=bucket, MaxKeys=1)
    except Exception as exc:  # noqa: BLE001 - botocore raises many kinds; the message says which
        return f"{type(exc).__name__}: {exc}"
    return None


def check_buckets(env: dict[str, str]) -> list[Check]:
    """Every bucket an env var names (DVC remote, MLflow artifacts, model store) exists and is listable."""
    from components.storage.s3 import endpoint_url, parse_s3_url

    where = endpoint_url(env) or "AWS"
    checks = []
    for var, user in BUCKET_ENV_VARS.items():
        url = env.get(var, "")
        if not url.startswith("s3://"):
            continue
        bucket = parse_s3_url(url).bucket
        error = _bucket_error(bucket)
        if error:
            fix = (
                f"check VTON_S3_ENDPOINT_URL and AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY; create the bucket "
                f"(the compose stack's `minio-init` does) or correct {var}"
            )
            checks.append(Check("s3", FAIL, f"{user} bucket {bucket} at {where}: {error}", fix))
        else:
            checks.append(Check("s3", OK, f"{user} bucket {bucket} at {where}"))
    if not checks:
        checks.append(Check("s3", LOCAL, "no S3 location configured (VTON_DVC_REMOTE_URL, VTON_MODEL_STORE_URL)"))
    return checks


def check_dvc_remote(root: Path) -> Check:
    """The default DVC remote (after `.dvc/config.local`) is reachable: its bucket or folder exists."""
    from components.storage.dvc_remote import default_remote
    from components.storage.s3 import parse_s3_url

    try:
        found = default_remote(root)
    except Exception as exc:  # noqa: BLE001 - not a DVC project, broken config
        return Check("dvc", FAIL, f"cannot read the DVC config in {root}: {exc}", "run from the project root")
    if found is None:
        return Check("dvc", FAIL, "no default DVC remote", "`vton remote configure` (with VTON_DVC_REMOTE_URL set)")
    name, section = found
    url = section.get("url", "")
    if url.startswith("s3://"):
        error = _bucket_error(parse_s3_url(url).bucket)
        if error:
            fix = "check the endpoint and credentials, or re-run `vton remote configure` with the right env file"
            return Check("dvc", FAIL, f"remote '{name}' {url}: {error}", fix)
        return Check("dvc", OK, f"remote '{name}' {url}" + (f" at {section['endpointurl']}" if "endpointurl" in section else ""))
    if "://" in url:
        return Check("dvc", OK, f"remote '{name}' {url} (not checked: only S3 and folders are)")
    folder = Path(url) if os.path.isabs(url) else (root / ".dvc" / url).resolve()
    parent = next((p for p in (folder, *folder.parents) if p.exists()), Path("/"))
    if folder.is_dir() or os.access(parent, os.W_OK):
        return Check("dvc", LOCAL, f"remote '{name}' folder {folder}")
    return Check("dvc", FAIL, f"remote '{name}' folder {folder} cannot be created", f"make {parent} writable")


def check_database(env: dict[str, str]) -> Check:
    """VTON_DATABASE_URL (the PostgreSQL behind MLflow and Prefect) accepts a login and `SELECT 1`."""
    url = env.get("VTON_DATABASE_URL")
    if not url:
        return Check("database", LOCAL, "no VTON_DATABASE_URL: the servers own their databases (or SQLite locally)")
    parsed = urlparse(url.replace("+psycopg2", "").replace("+asyncpg", ""))
    shown = f"{parsed.hostname}:{parsed.port or 5432}{parsed.path}"
    try:
        with socket.create_connection((parsed.hostname or "127.0.0.1", parsed.port or 5432), timeout=TIMEOUT_S):
            pass
    except OSError as exc:
        fix = "start it (`docker compose -f infra/compose.yaml up -d postgres`) or correct VTON_DATABASE_URL"
        return Check("database", FAIL, f"{shown} unreachable ({exc})", fix)
    try:
        import psycopg2

        conn = psycopg2.connect(parsed._replace(scheme="postgresql").geturl(), connect_timeout=int(TIMEOUT_S))
        try:
            with conn.cursor() as cur:
                cur.execute("SELECT 1")
                cur.fetchone()
        finally:
            conn.close()
    except Exception as exc:  # noqa: BLE001 - bad password, missing database
        return Check("database", FAIL, f"{shown}: {str(exc).strip()}", "check POSTGRES_USER/POSTGRES_PASSWORD in the env file")
    return Check("database", OK, f"{shown} accepts logins")


def run_checks(root: Path, env: dict[str, str] | None = None) -> list[Check]:
    """Every check, in the order a person would fix them (database first, then the services on it)."""
    env = dict(os.environ) if env is None else env
    steps: list[Callable[[], Check | list[Check]]] = [
        lambda: check_database(env),
        lambda: check_buckets(env),
        lambda: check_mlflow(env),
        lambda: check_prefect(env),
        lambda: check_dvc_remote(root),
    ]
    results: list[Check] = []
    for step in steps:
        out = step()
        results.extend(out if isinstance(out, list) else [out])
    return results


def doctor_command() -> None:
    """Check Prefect, MLflow, S3 buckets, the DVC remote and the database; exit 1 if any is down."""
    from components.project import project_root

    checks = run_checks(project_root())
    for check in checks:
        typer.echo(check.render())
    failed = [c for c in checks if c.status == FAIL]
    if failed:
        typer.secho(f"{len(failed)} problem(s): fix them, then run `vton doctor` again", fg=typer.colors.RED, err=True)
        raise typer.Exit(1)
    typer.echo("all configured services are reachable")


def register(app: typer.Typer) -> None:
    """Add `vton doctor` to the main CLI."""
    app.command("doctor")(doctor_command)
