"""`vton registry ...` on a real SQLite registry: a wrong run id or version is a clear error, never a traceback;
a candidate whose registered version a reset registry lost says "register it again"."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from components.errors import ConfigError
from components.registry.params import PromoteParams
from components.registry.promotion import candidate_registered, find_version_for_run, promote_run
from tests.registry.conftest import MODEL, figures, register_candidate

REPO = Path(__file__).resolve().parents[2]


def _vton(*args: str, cwd: Path) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "components.cli", "registry", *args], capture_output=True,
                          text=True, cwd=cwd)


@pytest.fixture
def project(tmp_path: Path, registry) -> Path:
    root = tmp_path / "proj"
    root.mkdir()
    (root / "params.yaml").write_text((REPO / "params.yaml").read_text())
    return root


@pytest.mark.parametrize("args, says", [
    (("promote", "--run-id", "nope"), "no MLflow run 'nope'"),
    (("approve", "7", "--by", "ana"), "vton-tryon has no version 7"),
    (("reject", "7", "--by", "ana"), "vton-tryon has no version 7"),
    (("rollback", "--by", "ana", "--to", "7"), "has no champion to roll back"),
])
def test_a_wrong_run_id_or_version_is_one_clear_error_not_a_traceback(project, args, says):
    out = _vton(*args, cwd=project)
    assert out.returncode == 2, out.stderr
    assert "Traceback" not in out.stdout + out.stderr
    assert says in out.stderr.splitlines()[0] and "fix:" in out.stderr


def test_a_candidate_whose_registered_version_is_gone_says_register_it_again(registry, tmp_path):
    client, _, _ = registry
    run_id, version = register_candidate(registry, figures(0.3))
    record = tmp_path / "models" / "candidate" / "registered.json"
    record.parent.mkdir(parents=True)
    record.write_text(json.dumps({"name": MODEL, "version": "42", "run_id": "gone"}))
    # The run of a wiped registry: no version was registered from it, and v42 is not there either.
    other = client.create_run(registry[1]).info.run_id
    with pytest.raises(ConfigError) as caught:
        find_version_for_run(client, MODEL, other, tmp_path)
    assert "v42" in str(caught.value) and "register it again: `dvc repro -f train`" in str(caught.value)
    assert candidate_registered(MODEL, version) and not candidate_registered(MODEL, "42")
    assert promote_run(client, MODEL, run_id, PromoteParams(), tmp_path).outcome == "promoted"


def test_no_registered_model_at_all_is_a_clear_error(registry):
    client, exp_id, _ = registry
    client.delete_registered_model(MODEL)
    run_id = client.create_run(exp_id).info.run_id
    with pytest.raises(ConfigError, match="registered no version"):
        promote_run(client, MODEL, run_id, PromoteParams(), Path("/nonexistent"))
