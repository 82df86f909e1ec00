"""The executor settings: validated at load, and never part of a cache key (local and Ray runs share the cache)."""

import pytest
from pydantic import ValidationError

from components.annotate.engine import sample_key
from components.annotate.params import AnnotateParams


def test_fractional_gpus_below_one_and_whole_gpus_above_are_accepted_and_anything_else_is_refused():
    assert AnnotateParams(executor="ray", ray={"num_gpus": 0.25}).ray.num_gpus == 0.25
    assert AnnotateParams(executor="ray", ray={"num_gpus": 2}).ray.num_gpus == 2
    with pytest.raises(ValidationError, match="whole number"):
        AnnotateParams(ray={"num_gpus": 1.5})
    with pytest.raises(ValidationError):
        AnnotateParams(executor="spark")
    with pytest.raises(ValidationError):
        AnnotateParams(ray={"actor": 2})  # a typo is an error, not a silent default


def test_where_shards_run_does_not_change_a_samples_cache_key():
    args = ("pkey", "gsha", "sid", "upper_body", "train")
    local = sample_key(*args, AnnotateParams(), code="c")
    on_ray = sample_key(*args, AnnotateParams(executor="ray", ray={"actors": 8, "num_gpus": 0.5}), code="c")
    assert on_ray == local
    assert sample_key(*args, AnnotateParams(width=200), code="c") != local
