"""augment.executor: ray on a real Ray cluster (a head and two worker nodes on loopback): the bundled sample,
annotated, augments to the same files and manifest as a local run, and a worker killed mid-shard loses nothing."""

from __future__ import annotations

import threading
from pathlib import Path

import pytest

from components.annotate.params import AnnotateParams
from components.annotate.run import annotate_dataset
from components.data.augment.cache import AugmentCache
from components.data.augment.run import augment_dataset
from components.data.params import AugmentParams
from tests.infra import servers
from tests.project_copy import imported_sample
from tests.infra.servers import s3_endpoint  # noqa: F401 (a shared fixture)
from tests.ray_cluster import kill_first_busy, on_cluster, ray_cluster, tree  # noqa: F401 (fixtures)

pytestmark = [pytest.mark.slow, pytest.mark.timeout(300)]
# Two variants of every train sample with the pair mirrored sometimes: every code path of a variant runs.
PARAMS = {"variants_per_sample": 2, "garment_flip": True}


@pytest.fixture(scope="module")
def ray_worker_env(s3_endpoint):
    """The worker nodes hold the shared cache's S3 endpoint and credentials in their own environment."""
    return servers.s3_env(s3_endpoint)


@pytest.fixture(scope="module")
def annotated(tmp_path_factory):
    """The bundled sample, imported and annotated at a small frame (one person is quarantined: nobody in it)."""
    root = tmp_path_factory.mktemp("proj")
    annotate_dataset(imported_sample(root), root / "annotated", AnnotateParams(width=192, height=256),
                     root / "cache-annotate")
    return root / "annotated"


def test_the_sample_augmented_on_ray_gives_the_same_files_and_manifest_as_a_local_run(annotated, on_cluster,
                                                                                      tmp_path):
    from components.fit.params import FitParams

    fit = FitParams(size_augment={"enabled": True})  # size variants too: the garment rescaled on the body
    local = augment_dataset(annotated, tmp_path / "local", AugmentParams(**PARAMS), tmp_path / "cache-local", fit)
    on_ray = AugmentParams(**PARAMS, executor="ray", shard_size=2, ray={"actors": 2})
    report = augment_dataset(annotated, tmp_path / "ray", on_ray, tmp_path / "cache-ray", fit)
    assert local.variants >= 10 and local.size_variants >= 1
    assert (report.variants, report.size_variants, report.augmented_parents, report.failed) == \
        (local.variants, local.size_variants, local.augmented_parents, local.failed)
    assert report.cached == 0 and report.retried_shards == 0
    assert tree(tmp_path / "ray") == tree(tmp_path / "local")  # manifest.parquet included, byte for byte
    # Every actor was on a worker node (the head has no CPUs) and removed its scratch folder.
    assert not list(on_cluster.scratch.glob("vton-augment-*"))
    # The driver's cache learnt every variant: a local re-run over it augments nothing.
    again = augment_dataset(annotated, tmp_path / "again", AugmentParams(**PARAMS), tmp_path / "cache-ray", fit)
    assert again.cached == local.variants
    assert tree(tmp_path / "again") == tree(tmp_path / "local")


def test_a_worker_killed_mid_shard_has_its_shard_retried_and_every_variant_is_made_once(
        annotated, on_cluster, tmp_path, monkeypatch):
    local = augment_dataset(annotated, tmp_path / "local", AugmentParams(**PARAMS))
    saved: list[str] = []
    save = AugmentCache.save

    def counting(self, key, row, out_dir, files):
        saved.append(key)
        return save(self, key, row, out_dir, files)

    monkeypatch.setattr(AugmentCache, "save", counting)  # the driver's cache: the workers run in other processes
    killed: list[int] = []
    stop = threading.Event()
    killer = threading.Thread(target=kill_first_busy, args=("AugmentActor", on_cluster, killed, stop), daemon=True)
    killer.start()
    try:
        on_ray = AugmentParams(**PARAMS, executor="ray", shard_size=1, ray={"actors": 2, "max_retries": 2})
        report = augment_dataset(annotated, tmp_path / "ray", on_ray, tmp_path / "cache")
    finally:
        stop.set()
        killer.join()
    assert killed, "no actor on a worker node was caught making variants"
    assert report.retried_shards >= 1 and "retried after a worker died" in report.summary()
    assert len(saved) == len(set(saved)) == local.variants  # each variant landed once
    assert tree(tmp_path / "ray") == tree(tmp_path / "local")
    assert not list(on_cluster.scratch.glob("vton-augment-*"))  # the killed actor's folder went too


def test_workers_running_other_augment_code_than_the_driver_are_refused_before_any_work(annotated, on_cluster,
                                                                                         tmp_path, monkeypatch):
    import components.data.augment.executors.ray_executor as ray_executor
    from components.errors import ConfigError

    monkeypatch.setattr(ray_executor, "code_digest", lambda: "0" * 64)  # the driver one commit ahead
    with pytest.raises(ConfigError, match="runs different augment code") as err:
        augment_dataset(annotated, tmp_path / "out", AugmentParams(**PARAMS, executor="ray"), tmp_path / "cache")
    assert "build the worker image from this commit" in str(err.value)
    # Only the parents' checksums the driver took while planning (digests.json) may be there: no variant.
    assert [p.name for p in (tmp_path / "cache").rglob("*.json")] in ([], ["digests.json"])


def test_a_fresh_worker_takes_every_variant_another_run_made_from_the_shared_cache_on_s3(
        annotated, on_cluster, s3_endpoint, tmp_path, monkeypatch):
    import boto3

    import components.data.augment.run as run

    env = servers.s3_env(s3_endpoint)
    boto3.client("s3", endpoint_url=s3_endpoint, aws_access_key_id=env["AWS_ACCESS_KEY_ID"],
                 aws_secret_access_key=env["AWS_SECRET_ACCESS_KEY"], region_name="us-east-1"
                 ).create_bucket(Bucket="vton-augment")
    shared = AugmentParams(**PARAMS, executor="ray", shard_size=3,
                           ray={"actors": 2, "shared_cache": "s3://vton-augment/team"})
    first = augment_dataset(annotated, tmp_path / "first", shared, tmp_path / "cache-1")
    assert first.shared_hits == 0 and first.variants >= 10

    def no_augment(*args, **kwargs):
        raise AssertionError("the driver augmented a variant itself")

    monkeypatch.setattr(run, "augment_sample", no_augment)  # in this process only: the workers run elsewhere
    # Another driver with an empty cache of its own, on fresh actors: every variant comes from S3.
    second = augment_dataset(annotated, tmp_path / "second", shared, tmp_path / "cache-2")
    assert second.cached == 0 and second.shared_hits == first.variants == second.variants
    assert "found by the Ray workers in the shared cache" in second.summary()
    assert tree(tmp_path / "second") == tree(tmp_path / "first")


def test_vton_data_augment_with_executor_ray_writes_what_the_local_command_writes(annotated, on_cluster, tmp_path,
                                                                                 monkeypatch):
    import shutil

    from typer.testing import CliRunner

    from components.cli import app

    repo = Path(__file__).resolve().parents[3]
    project = tmp_path / "project"
    project.mkdir()
    shutil.copy(repo / "params.yaml", project / "params.yaml")
    monkeypatch.setenv("VTON_PROJECT_ROOT", str(project))
    runner = CliRunner()
    args = ["data", "augment", "--in", str(annotated), "--out"]
    local = runner.invoke(app, [*args, str(tmp_path / "local")])
    assert local.exit_code == 0, local.output
    shutil.rmtree(project / ".cache")  # a first run on Ray too, not the local run's cached variants
    on_ray = runner.invoke(app, [*args, str(tmp_path / "ray"), "--executor", "ray"])
    assert on_ray.exit_code == 0, on_ray.output
    assert "(0 resized; 0 from the cache)" in on_ray.output
    assert tree(tmp_path / "ray") == tree(tmp_path / "local")
    from components.errors import ConfigError

    bad = runner.invoke(app, [*args, str(tmp_path / "bad"), "--executor", "spark"])
    # A ConfigError: the `vton` entry point prints it with its fix and exits 2, without a traceback.
    assert isinstance(bad.exception, ConfigError) and "must be local or ray" in str(bad.exception)
    assert not (tmp_path / "bad").exists()
