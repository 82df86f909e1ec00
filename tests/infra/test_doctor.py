"""`vton doctor` against services that are down: every one named, with its fix, and a non-zero exit."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from components.doctor import FAIL, LOCAL, run_checks
from tests.infra import servers


def _doctor(cwd: Path, env: dict[str, str]) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "components.cli", "doctor"], cwd=cwd, env={**os.environ, **env},
        capture_output=True, text=True, timeout=120,
    )


def test_with_nothing_configured_everything_is_local_and_doctor_passes(workspace: Path):
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PREFECT_API_URL", "VTON_", "AWS_"))}
    env["MLFLOW_TRACKING_URI"] = f"sqlite:///{workspace / 'mlflow.db'}"
    checks = run_checks(workspace, env)
    assert {c.status for c in checks} == {LOCAL}
    assert {c.name for c in checks} == {"database", "s3", "mlflow", "prefect", "dvc"}


def test_stopped_services_each_fail_with_a_fix_and_exit_1(workspace: Path, tmp_path: Path):
    moto, s3_url = servers.start_moto(tmp_path)  # a real S3 endpoint, stopped below: the remote "went down"
    servers.stop(moto)
    closed = [servers.free_port() for _ in range(3)]
    env = {
        **servers.s3_env(s3_url),
        "VTON_S3_MAX_ATTEMPTS": "1",
        "PREFECT_API_URL": f"http://127.0.0.1:{closed[0]}/api",
        "MLFLOW_TRACKING_URI": f"http://127.0.0.1:{closed[1]}",
        "VTON_DATABASE_URL": f"postgresql://vton:pw@127.0.0.1:{closed[2]}/vton",
        "VTON_DVC_REMOTE_URL": "s3://vton-dvc/store",
    }
    configured = subprocess.run(
        [sys.executable, "-m", "components.cli", "remote", "configure"], cwd=workspace,
        env={**os.environ, **env}, capture_output=True, text=True,
    )
    assert configured.returncode == 0, configured.stderr
    proc = _doctor(workspace, env)
    assert proc.returncode == 1, proc.stdout
    failed = [ln.split()[1] for ln in proc.stdout.splitlines() if ln.startswith(FAIL)]
    assert sorted(failed) == ["database", "dvc", "mlflow", "prefect", "s3"], proc.stdout
    assert proc.stdout.count("fix:") == 5
    assert "docker compose -f infra/compose.yaml up -d prefect-server" in proc.stdout
    assert "problem(s)" in proc.stderr
