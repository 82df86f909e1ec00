"""The executor settings of augment and evaluate: validated at load, and never part of a variant's cache key."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from components.data.augment.run import augment_dataset
from components.data.params import AugmentParams
from components.evaluate.params import EvaluateParams
from tests.data.augment.annotated import build_annotated


def test_where_variants_are_made_does_not_change_their_cache_keys(tmp_path):
    build_annotated(tmp_path / "annotated")
    first = augment_dataset(tmp_path / "annotated", tmp_path / "a", AugmentParams(), tmp_path / "cache")
    # Every variant cached under the local run's keys: a Ray run finds them all and needs no cluster at all.
    on_ray = AugmentParams(executor="ray", shard_size=1, ray={"actors": 8, "num_gpus": 0.5,
                                                              "shared_cache": "s3://bucket/augment"})
    again = augment_dataset(tmp_path / "annotated", tmp_path / "b", on_ray, tmp_path / "cache")
    assert first.variants == again.variants == again.cached == 2 and again.retried_shards == 0


def test_augment_and_evaluate_executor_settings_are_checked_at_load():
    assert EvaluateParams(executor="ray", ray={"num_gpus": 0.25}).ray.num_gpus == 0.25
    with pytest.raises(ValidationError, match="evaluate keeps no cache"):
        EvaluateParams(ray={"shared_cache": "s3://bucket/evaluate"})
    with pytest.raises(ValidationError):
        AugmentParams(executor="dask")
    with pytest.raises(ValidationError):
        AugmentParams(ray={"actor": 2})  # a typo is an error, not a silent default
    with pytest.raises(ValidationError):
        AugmentParams(shard_size=0)
