"""Static checks of the KubeRay cluster, its network policy and the `vton-stage/ray` deployment that reaches it."""

from __future__ import annotations

import re

import yaml

from tests.conftest import REPO
from tests.infra.test_container_files import K8S_VERSION, _render

RAY_DIR = REPO / "infra" / "k8s" / "ray"


def _cluster() -> dict:
    return yaml.safe_load((RAY_DIR / "raycluster.yaml").read_text())


def _pod_templates(cluster: dict) -> dict[str, dict]:
    spec = cluster["spec"]
    return {"head": spec["headGroupSpec"]["template"],
            **{g["groupName"]: g["template"] for g in spec["workerGroupSpecs"]}}


def test_ray_cluster_pods_match_the_kubernetes_schemas_and_run_the_project_images():
    import kubernetes_validate

    cluster = _cluster()
    assert cluster["apiVersion"] == "ray.io/v1" and cluster["kind"] == "RayCluster"
    pins = dict(line.split("==") for line in (REPO / "requirements.lock").read_text().split() if "==" in line)
    assert cluster["spec"]["rayVersion"] == pins["ray"]  # head, workers and driver on one Ray version
    templates = _pod_templates(cluster)
    assert set(templates) == {"head", "cpu", "gpu"}
    for name, template in templates.items():
        pod = {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": f"vton-ray-{name}", **template["metadata"]},
               "spec": template["spec"]}
        kubernetes_validate.validate(pod, K8S_VERSION, strict=True)
        (container,) = template["spec"]["containers"]
        target = "gpu" if name == "gpu" else "cpu"
        assert re.fullmatch(rf"\S+/vton-pipeline:{target}", container["image"]), container["image"]
        assert template["spec"]["securityContext"]["runAsUser"] == 10001
    gpu = templates["gpu"]["spec"]
    assert gpu["containers"][0]["resources"]["limits"]["nvidia.com/gpu"] == 1
    assert {"key": "nvidia.com/gpu", "operator": "Exists", "effect": "NoSchedule"} in gpu["tolerations"]


def test_only_the_projects_pods_reach_the_ray_cluster():
    import kubernetes_validate

    policy = yaml.safe_load((RAY_DIR / "networkpolicy.yaml").read_text())
    kubernetes_validate.validate(policy, K8S_VERSION, strict=True)
    cluster = _cluster()
    assert policy["spec"]["podSelector"]["matchLabels"] == {"ray.io/cluster": cluster["metadata"]["name"]}
    nodes, stage_pods = (rule["from"][0]["podSelector"] for rule in policy["spec"]["ingress"][:2])
    assert nodes["matchLabels"] == policy["spec"]["podSelector"]["matchLabels"]  # Ray's nodes talk to each other
    (expression,) = stage_pods["matchExpressions"]
    assert expression["operator"] == "Exists"
    for pool in ("cpu", "gpu"):  # the annotate stage's pod, on either pool, is admitted
        job = _render(pool, {"image": f"x:{pool}"})
        assert expression["key"] in job["spec"]["template"]["metadata"]["labels"]


def test_the_ray_stage_deployment_reaches_the_clusters_head_over_ray_client():
    spec = yaml.safe_load((REPO / "infra" / "prefect.yaml").read_text())
    deployment = {d["name"]: d for d in spec["deployments"]}["ray"]
    assert deployment["entrypoint"] == "flows/remote_stage.py:stage_flow"
    assert spec["definitions"]["routes"]["ray_annotate"]["annotate"] == "vton-stage/ray"
    variables = deployment["work_pool"]["job_variables"]
    job = _render(deployment["work_pool"]["name"], {**variables, "image": "x:cpu"})
    env = {e["name"]: e.get("value") for e in job["spec"]["template"]["spec"]["containers"][0]["env"]}
    cluster = _cluster()
    head_ports = {p["name"]: p["containerPort"]
                  for p in cluster["spec"]["headGroupSpec"]["template"]["spec"]["containers"][0]["ports"]}
    # KubeRay names the head's Service <cluster>-head-svc.
    assert env["RAY_ADDRESS"] == (f"ray://{cluster['metadata']['name']}-head-svc.{cluster['metadata']['namespace']}"
                                  f".svc.cluster.local:{head_ports['client']}")
