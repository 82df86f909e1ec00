"""Two real processes promoting at once: the registry lock and the compare-and-set leave exactly one result."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from components.registry.ledger import read_ledger
from components.registry.lock import RegistryLocked, lock_holder, registry_lock
from components.registry.params import PromoteParams
from components.registry.promotion import alias_version, promote_run
from tests.registry.conftest import MODEL, figures, register_candidate

REPO = Path(__file__).resolve().parents[2]
PARAMS = """profile: smoke
promote:
  min_pairs_per_category: 1
  gates:
    lpips: {threshold: 0.6, max_regression: 0.0}
profiles: {smoke: {}, test: {}, full: {}}
"""


@pytest.fixture
def project(tmp_path: Path) -> Path:
    root = tmp_path / "project"
    root.mkdir()
    (root / "params.yaml").write_text(PARAMS)
    return root


def start_promote(project: Path, run_id: str) -> subprocess.Popen:
    env = {**os.environ, "VTON_PROJECT_ROOT": str(project), "PYTHONPATH": str(REPO)}
    return subprocess.Popen([sys.executable, "-m", "components.cli", "registry", "promote", "--run-id", run_id],
                            cwd=project, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def finish(procs: list[subprocess.Popen]) -> list[tuple[int, str]]:
    out = []
    for p in procs:
        stdout, stderr = p.communicate(timeout=180)
        out.append((p.returncode, (stdout.strip().splitlines() or [stderr.strip()])[-1]))
    return out


@pytest.mark.slow
def test_two_processes_promoting_different_challengers_leave_exactly_one_champion(registry, project):
    client = registry[0]
    run1, v1 = register_candidate(registry, figures(lpips=0.4))
    promote_run(client, MODEL, run1, PromoteParams(), project)
    run2, v2 = register_candidate(registry, figures(lpips=0.3), champion=figures(lpips=0.4), champion_version=v1)
    run3, v3 = register_candidate(registry, figures(lpips=0.2), champion=figures(lpips=0.4), champion_version=v1)
    results = finish([start_promote(project, run2), start_promote(project, run3)])
    codes = sorted(code for code, _ in results)
    assert codes == [0, 3], results
    winner = alias_version(client, MODEL, "champion")
    assert winner in (v2, v3)
    promotions = [e for e in read_ledger(client, MODEL) if e.action == "promote"]
    assert [(e.from_version, e.to_version) for e in promotions] == [(None, v1), (v1, winner)]
    loser_line = next(line for code, line in results if code == 3)
    assert "evaluated against champion" in loser_line
    assert lock_holder(client, MODEL) is None


@pytest.mark.slow
def test_two_processes_promoting_the_same_version_promote_it_once(registry, project):
    client = registry[0]
    run1, v1 = register_candidate(registry, figures(lpips=0.4))
    results = finish([start_promote(project, run1), start_promote(project, run1)])
    assert sorted(code for code, _ in results) == [0, 0], results
    assert sorted(line.split(":")[0] for _, line in results) == ["kept", "promoted"]
    assert alias_version(client, MODEL, "champion") == v1
    assert [e.action for e in read_ledger(client, MODEL)] == ["challenger", "promote"]


@pytest.mark.slow
def test_the_lock_excludes_a_second_holder_until_the_first_releases(registry, tmp_path):
    client = registry[0]
    flag = tmp_path / "held"
    code = (
        "import mlflow, sys, time; from pathlib import Path\n"
        "from components.registry.lock import registry_lock\n"
        f"with registry_lock(mlflow.MlflowClient(), {MODEL!r}, 'test holder'):\n"
        f"    Path({str(flag)!r}).write_text('x'); time.sleep(4)\n"
    )
    holder = subprocess.Popen([sys.executable, "-c", code], cwd=REPO, env={**os.environ, "PYTHONPATH": str(REPO)})
    deadline = time.monotonic() + 120
    while not flag.exists():
        assert holder.poll() is None and time.monotonic() < deadline, "holder did not take the lock"
        time.sleep(0.1)
    assert lock_holder(client, MODEL)["purpose"] == "test holder"
    with pytest.raises(RegistryLocked, match="test holder"):
        with registry_lock(client, MODEL, "second", timeout_s=0.5):
            pass
    with registry_lock(client, MODEL, "second", timeout_s=60) as me:
        assert lock_holder(client, MODEL)["holder"] == me
    assert holder.wait(timeout=60) == 0
    assert lock_holder(client, MODEL) is None


def test_a_lock_released_while_mlflow_checks_the_duplicate_is_taken_on_the_next_try(registry):
    """MLflow answers a duplicate create by looking the existing lock up; when its holder deletes it in that
    instant the lookup says "not found". That is a free lock, not an error."""
    from mlflow.exceptions import MlflowException
    from mlflow.protos.databricks_pb2 import RESOURCE_DOES_NOT_EXIST

    client = registry[0]

    class ReleasedInBetween:
        """The real client, whose first lock creation meets the release race."""

        raced = False

        def __getattr__(self, name):
            return getattr(client, name)

        def create_registered_model(self, *args, **kwargs):
            if not self.raced:
                self.raced = True
                raise MlflowException("Registered Model with name=vton-tryon.promotion-lock not found",
                                      error_code=RESOURCE_DOES_NOT_EXIST)
            return client.create_registered_model(*args, **kwargs)

    racing = ReleasedInBetween()
    with registry_lock(racing, MODEL, "test", timeout_s=5) as holder:
        assert racing.raced and lock_holder(client, MODEL)["holder"] == holder
    assert lock_holder(client, MODEL) is None
