"""annotate.executor: ray on a real Ray cluster (a head and two worker nodes on loopback): the same files and
manifest as a local run, and a worker node's actor killed mid-shard loses and duplicates nothing."""

import threading
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from components.annotate.cache import AnnotateCache
from components.annotate.params import AnnotateParams
from components.annotate.run import annotate_dataset, annotate_folder
from tests.infra import servers
from tests.project_copy import imported_sample
from tests.infra.servers import s3_endpoint  # noqa: F401 (a shared fixture)
from tests.ray_cluster import kill_first_busy, on_cluster, ray_cluster, tree  # noqa: F401 (fixtures)

pytestmark = [pytest.mark.slow, pytest.mark.timeout(240)]
# Small frames and one sample per shard: several shards per actor, in seconds on a loaded 2-core machine.
SMALL = {"width": 192, "height": 256, "shard_size": 1}


@pytest.fixture(scope="module")
def ray_worker_env(s3_endpoint):
    """The worker nodes hold the shared cache's S3 endpoint and credentials in their own environment."""
    return servers.s3_env(s3_endpoint)


@pytest.fixture(scope="module")
def imported(tmp_path_factory) -> Path:
    """The bundled sample data, imported (pairs with garment photos, one of them not a person)."""
    return imported_sample(tmp_path_factory.mktemp("proj"))


def _variants(real_photos, folder: Path, n: int) -> None:
    """n distinct person photos (a few pixels changed so each has its own content hash)."""
    folder.mkdir(parents=True, exist_ok=True)
    base = np.asarray(real_photos["grace_hopper"].resize((192, 225))).copy()
    for i in range(n):
        img = base.copy()
        img[0, i] = (i * 7 % 255, 0, 0)
        Image.fromarray(img).save(folder / f"p{i:02d}.png")


def test_the_sample_annotated_on_ray_gives_the_same_files_and_manifest_as_a_local_run(imported, on_cluster,
                                                                                       tmp_path):
    local = annotate_dataset(imported, tmp_path / "local", AnnotateParams(**SMALL), tmp_path / "cache-local")
    ray_settings = AnnotateParams(**SMALL, executor="ray", ray={"actors": 2, "num_cpus": 1})
    on_ray = annotate_dataset(imported, tmp_path / "ray", ray_settings, tmp_path / "cache-ray")
    n = local.report.total
    # Two actors of one CPU each on two worker nodes of one CPU each (the head has none): one per node.
    assert len(on_cluster.worker_node_ids) == 2
    assert n >= 10 and on_ray.report.done == local.report.done == n
    assert on_ray.report.model_calls == local.report.model_calls
    assert on_ray.report.quarantined == local.report.quarantined >= 1  # the photo with nobody in it
    assert on_ray.report.retried_shards == 0
    assert on_ray.manifest.equals(local.manifest)
    assert tree(tmp_path / "ray") == tree(tmp_path / "local")
    # The replacement actor removed the scratch folder the killed one left; the others removed their own.
    assert not list(on_cluster.scratch.glob("vton-annotate-*"))
    # The driver's cache learnt everything: a local re-run over the Ray cache does no work.
    again = annotate_dataset(imported, tmp_path / "ray", AnnotateParams(**SMALL), tmp_path / "cache-ray")
    assert again.report.cached == n and again.report.model_calls == 0
    assert again.manifest.equals(local.manifest)


def test_a_driver_outside_the_cluster_annotates_through_ray_client_with_the_same_outputs(real_photos, ray_cluster,
                                                                                       tmp_path, monkeypatch):
    # How the annotate stage's pod reaches a KubeRay cluster (infra/README.md): RAY_ADDRESS=ray://head:10001.
    _variants(real_photos, tmp_path / "photos", 2)
    local = annotate_folder(tmp_path / "photos", tmp_path / "local", AnnotateParams(**SMALL), tmp_path / "cache-local",
                            ["upper_body"])
    monkeypatch.setenv("RAY_ADDRESS", ray_cluster.client)
    ray_settings = AnnotateParams(**SMALL, executor="ray", ray={"actors": 2})
    on_ray = annotate_folder(tmp_path / "photos", tmp_path / "ray", ray_settings, tmp_path / "cache-ray",
                             ["upper_body"])
    assert on_ray.report.done == 2 and on_ray.report.model_calls == local.report.model_calls
    assert on_ray.manifest.equals(local.manifest)
    assert tree(tmp_path / "ray") == tree(tmp_path / "local")


def test_samples_whose_person_maps_are_cached_are_rendered_on_ray_without_model_calls(real_photos, on_cluster,
                                                                                     tmp_path):
    _variants(real_photos, tmp_path / "photos", 2)
    ray_settings = AnnotateParams(**SMALL, executor="ray", ray={"actors": 2})
    first = annotate_folder(tmp_path / "photos", tmp_path / "out", ray_settings, tmp_path / "cache", ["upper_body"])
    assert first.report.model_calls == 6  # pose, person mask, parse per photo
    # A new category: new samples of the same persons, whose maps the driver ships to the actors.
    second = annotate_folder(tmp_path / "photos", tmp_path / "out", ray_settings, tmp_path / "cache",
                             ["upper_body", "dresses"])
    assert second.report.cached == 2 and second.report.done == 2 and second.report.model_calls == 0


def test_a_worker_killed_mid_shard_has_its_shard_retried_and_nothing_is_lost_or_recorded_twice(
        real_photos, on_cluster, tmp_path, monkeypatch):
    _variants(real_photos, tmp_path / "photos", 4)
    local = annotate_folder(tmp_path / "photos", tmp_path / "local", AnnotateParams(**SMALL), tmp_path / "cache-local",
                            ["upper_body"])
    recorded: list[str] = []
    save_record = AnnotateCache.save_record

    def counting(self, key, row, out_dir, files):
        recorded.append(key)
        return save_record(self, key, row, out_dir, files)

    monkeypatch.setattr(AnnotateCache, "save_record", counting)  # the driver's cache: workers run elsewhere
    killed: list[int] = []
    stop = threading.Event()
    killer = threading.Thread(target=kill_first_busy, args=("ShardActor", on_cluster, killed, stop), daemon=True)
    killer.start()
    try:
        ray_settings = AnnotateParams(**SMALL, executor="ray", ray={"actors": 2, "max_retries": 2})
        result = annotate_folder(tmp_path / "photos", tmp_path / "ray", ray_settings, tmp_path / "cache-ray",
                                 ["upper_body"])
    finally:
        stop.set()
        killer.join()
    assert killed, "no actor on a worker node was caught running a shard"
    assert result.report.retried_shards >= 1
    assert "retried after a worker died" in result.report.summary()
    assert result.report.done == 4 and (result.manifest["status"] == "ok").all()
    assert sorted(recorded) == sorted(set(recorded)) and len(recorded) == 4  # each sample recorded once
    assert result.manifest.equals(local.manifest)
    assert tree(tmp_path / "ray") == tree(tmp_path / "local")
    # The replacement actor removed the scratch folder the killed one left; the others removed their own.
    assert not list(on_cluster.scratch.glob("vton-annotate-*"))


def test_a_shard_whose_worker_dies_past_max_retries_is_quarantined_uncached_and_the_next_run_annotates_it(
        real_photos, on_cluster, tmp_path):
    _variants(real_photos, tmp_path / "photos", 3)
    killed: list[int] = []
    stop = threading.Event()
    killer = threading.Thread(target=kill_first_busy, args=("ShardActor", on_cluster, killed, stop), daemon=True)
    killer.start()
    try:
        ray_settings = AnnotateParams(**SMALL, executor="ray", ray={"actors": 1, "max_retries": 0})
        result = annotate_folder(tmp_path / "photos", tmp_path / "out", ray_settings, tmp_path / "cache",
                                 ["upper_body"])
    finally:
        stop.set()
        killer.join()
    assert killed and result.report.retried_shards == 1
    lost = result.manifest[result.manifest["status"] == "quarantined"]
    assert len(lost) == 1 and lost["quarantine_reason"].iloc[0].startswith(
        "annotate error: the Ray worker annotating this shard died 1 time")
    assert (result.manifest["status"] == "ok").sum() == 2  # the other shards were not held back
    again = annotate_folder(tmp_path / "photos", tmp_path / "out", AnnotateParams(**SMALL), tmp_path / "cache",
                            ["upper_body"])
    assert again.report.cached == 2 and again.report.done == 1 and (again.manifest["status"] == "ok").all()


def test_workers_running_other_annotate_code_than_the_driver_are_refused_before_any_work(real_photos, on_cluster,
                                                                                           tmp_path, monkeypatch):
    import components.annotate.executors.ray_executor as ray_executor
    from components.errors import ConfigError

    _variants(real_photos, tmp_path / "photos", 1)
    # The driver's rendering code as if it were one commit ahead of the workers' image.
    monkeypatch.setattr(ray_executor, "render_code_digest", lambda settings: "0" * 64)
    with pytest.raises(ConfigError, match="runs different annotate code") as err:
        annotate_folder(tmp_path / "photos", tmp_path / "out", AnnotateParams(**SMALL, executor="ray"),
                        tmp_path / "cache", ["upper_body"])
    assert "build the worker image from this commit" in str(err.value)
    assert not list((tmp_path / "out").rglob("*.png"))


def test_a_fresh_worker_takes_every_sample_another_run_annotated_from_the_shared_cache_on_s3(
        real_photos, on_cluster, s3_endpoint, tmp_path):
    import boto3

    env = servers.s3_env(s3_endpoint)
    boto3.client("s3", endpoint_url=s3_endpoint, aws_access_key_id=env["AWS_ACCESS_KEY_ID"],
                 aws_secret_access_key=env["AWS_SECRET_ACCESS_KEY"], region_name="us-east-1"
                 ).create_bucket(Bucket="vton-cache")
    _variants(real_photos, tmp_path / "photos", 3)
    shared = AnnotateParams(**SMALL, executor="ray", ray={"actors": 2, "shared_cache": "s3://vton-cache/team"})
    first = annotate_folder(tmp_path / "photos", tmp_path / "first", shared, tmp_path / "cache-1", ["upper_body"])
    assert first.report.shared_hits == 0 and first.report.model_calls == 9
    # Another driver with an empty cache of its own, on fresh actors: everything comes from S3, no model runs.
    second = annotate_folder(tmp_path / "photos", tmp_path / "second", shared, tmp_path / "cache-2", ["upper_body"])
    assert second.report.shared_hits == 3 and second.report.done == 3 and second.report.model_calls == 0
    assert "3 of the new found by the Ray workers in the shared cache" in second.report.summary()
    assert second.manifest.equals(first.manifest)
    assert tree(tmp_path / "second") == tree(tmp_path / "first")
    # What the workers took is now in that driver's own cache too: a local re-run does no work.
    again = annotate_folder(tmp_path / "photos", tmp_path / "second", AnnotateParams(**SMALL), tmp_path / "cache-2",
                            ["upper_body"])
    assert again.report.cached == 3
    # A new category of the same persons: samples the shared cache lacks, whose person maps it holds.
    third = annotate_folder(tmp_path / "photos", tmp_path / "third", shared, tmp_path / "cache-3", ["dresses"])
    assert third.report.shared_hits == 0 and third.report.done == 3 and third.report.model_calls == 0
