"""evaluate.executor: ray on a real Ray cluster (a head and two worker nodes on loopback): the smoke family's
model (gmm_tom, tiny) loaded once per actor generates the test pairs, and the figures and result files are the
ones a local evaluation writes."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from components.evaluate.pairs import build_pairs
from components.evaluate.params import EvaluateParams
from components.evaluate.run import evaluate_models, generator_for
from tests.ray_cluster import kill_first_busy, ray_cluster, ray_worker_env, tree  # noqa: F401 (fixtures)
from tests.train.families.conftest import worn_dataset  # noqa: F401  (the shared fixture)

pytestmark = [pytest.mark.slow, pytest.mark.timeout(300)]
SETTINGS = {"max_pairs_per_category": 3, "width": 48, "height": 64, "kid_subset_size": 2, "num_inference_steps": 2,
            "review_pairs_per_category": 1, "worst_n": 1}


@pytest.fixture(scope="module")
def smoke_model(tmp_path_factory, worn_dataset):  # noqa: F811
    """A gmm_tom model (the smoke profile's family) trained a few steps at the tiny width."""
    from components.train.data import select_samples
    from components.train.families import get_family
    from components.train.families.base import FamilyContext
    from components.train.params import TrainParams

    torch.set_num_threads(1)  # as each actor runs (one CPU each): the same kernels, the same sums
    tmp = tmp_path_factory.mktemp("gmm")
    params = TrainParams.model_validate({
        "model": "gmm_tom", "device": "cpu", "num_threads": 1, "checkpoint_every": 4,
        "tracking": {"log_every": 2, "validate_every": 0},
        "gmm_tom": {"gmm_width": 4, "tom_width": 4, "batch_size": 2, "steps": {"gmm": 2, "tom": 2}}})
    ctx = FamilyContext(params=params, samples=select_samples(worn_dataset).samples, val_samples=[],
                        checkpoint_dir=tmp / "ckpt", model_dir=tmp / "model", reports_dir=tmp / "reports")
    get_family("gmm_tom").train(ctx)
    return ctx.model_dir


def _colour_pairs(dataset, per_category: int):
    """The test pairs of colour photos: gmm_tom annotates the person on the fly, and MediaPipe's pose model
    misses the person in the dataset's greyscale photo so a local run fails on it too."""
    from PIL import Image

    def colour(path) -> bool:
        arr = np.asarray(Image.open(path).convert("RGB")).astype(int)
        return bool((arr[..., 0] != arr[..., 1]).any() or (arr[..., 1] != arr[..., 2]).any())

    return [p for p in build_pairs(dataset, per_category) if colour(p.person)]


def test_pairs_generated_on_ray_score_and_write_exactly_what_a_local_evaluation_does(
        smoke_model, worn_dataset, ray_cluster, tmp_path, monkeypatch):  # noqa: F811
    from components.evaluate.networks import load_metric_networks

    networks = load_metric_networks(lambda name: None)  # the named offline fallbacks
    pairs = _colour_pairs(worn_dataset, SETTINGS["max_pairs_per_category"])
    assert len(pairs) >= 4 and {p.kind for p in pairs} == {"paired", "unpaired"}
    local = EvaluateParams(**SETTINGS)
    here = evaluate_models(pairs, generator_for(smoke_model, pairs, local, "candidate"), networks, local,
                           tmp_path / "local")
    monkeypatch.setenv("RAY_ADDRESS", ray_cluster.address)
    on_ray = EvaluateParams(**SETTINGS, executor="ray", shard_size=2, ray={"actors": 2})
    there = evaluate_models(pairs, generator_for(smoke_model, pairs, on_ray, "candidate"), networks, on_ray,
                            tmp_path / "ray")

    def figures(evaluation):
        return [{k: v for k, v in s.to_dict().items() if k != "result"} for s in evaluation.candidate.scores]

    assert figures(there) == figures(here)
    for pair in pairs:
        assert np.array_equal(np.asarray(there.candidate.results[pair.pair_id]),
                              np.asarray(here.candidate.results[pair.pair_id]))
    assert tree(tmp_path / "ray") == tree(tmp_path / "local")  # the result files, byte for byte
    assert there.candidate_metrics.keys() == here.candidate_metrics.keys()
    for scope, values in here.candidate_metrics.items():
        assert there.candidate_metrics[scope] == pytest.approx(values, nan_ok=True)
    assert not list(ray_cluster.scratch.glob("vton-evaluate-*"))  # the actors removed their model copies


def test_a_model_whose_workers_run_other_code_is_refused_before_any_pair_is_generated(
        smoke_model, worn_dataset, ray_cluster, monkeypatch):  # noqa: F811
    import components.evaluate.executors.ray_executor as ray_executor
    from components.errors import ConfigError

    monkeypatch.setenv("RAY_ADDRESS", ray_cluster.address)
    monkeypatch.setattr(ray_executor, "code_digest", lambda: "0" * 64)
    pairs = _colour_pairs(worn_dataset, 1)
    with pytest.raises(ConfigError, match="runs different evaluate code"):
        generator_for(smoke_model, pairs, EvaluateParams(**SETTINGS, executor="ray"), "candidate")


def test_a_worker_killed_mid_shard_has_its_pairs_generated_again_with_the_same_results(
        smoke_model, worn_dataset, ray_cluster, monkeypatch):  # noqa: F811
    import threading

    from PIL import Image

    from components.evaluate.executors.ray_executor import generate_on_ray

    pairs = _colour_pairs(worn_dataset, SETTINGS["max_pairs_per_category"])
    local = generator_for(smoke_model, pairs, EvaluateParams(**SETTINGS), "candidate")

    def here(pair):
        with Image.open(pair.person) as p, Image.open(pair.garment) as g, Image.open(pair.agnostic_mask) as m:
            return local(pair, p.convert("RGB"), g.convert("RGB"), m.convert("L"))

    monkeypatch.setenv("RAY_ADDRESS", ray_cluster.address)
    killed: list[int] = []
    stop = threading.Event()
    killer = threading.Thread(target=kill_first_busy, args=("GeneratorActor", ray_cluster, killed, stop), daemon=True)
    killer.start()
    try:
        settings = EvaluateParams(**SETTINGS, executor="ray", shard_size=1, ray={"actors": 2, "max_retries": 2})
        results = generate_on_ray(smoke_model, pairs, settings, "candidate")
    finally:
        stop.set()
        killer.join()
    assert killed, "no actor on a worker node was caught generating"
    assert sorted(results) == sorted(p.pair_id for p in pairs)
    for pair in pairs:
        assert np.array_equal(np.asarray(results[pair.pair_id]), np.asarray(here(pair)))
    assert not list(ray_cluster.scratch.glob("vton-evaluate-*"))  # the killed actor's model copy went too
