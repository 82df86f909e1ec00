"""train.gmm_tom: named sizes, overrides, and clear errors for impossible settings."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from components.train.families.gmm_tom.params import GmmTomParams
from components.train.params import TrainParams


def test_named_sizes_pick_resolution_and_widths_and_single_knobs_override_them():
    assert GmmTomParams().frame == (48, 64) and GmmTomParams().widths == (16, 16)
    full = GmmTomParams(size="full")
    assert full.frame == (192, 256) and full.widths == (64, 64)
    assert GmmTomParams(size="full", tom_width=32).widths == (64, 32)
    assert GmmTomParams(resolution=(96, 128)).frame == (96, 128)


def test_defaults_keep_the_adversarial_term_off_and_the_perceptual_term_on():
    p = GmmTomParams()
    assert p.weights.adversarial == 0 and p.perceptual.enabled and p.perceptual.weight > 0


def test_a_resolution_the_networks_cannot_pool_is_refused():
    with pytest.raises(ValidationError, match="multiples of 16"):
        GmmTomParams(resolution=(50, 64))


def test_unknown_keys_are_errors_and_the_section_lives_under_train():
    with pytest.raises(ValidationError):
        GmmTomParams.model_validate({"stpes": {"gmm": 1}})
    tp = TrainParams.model_validate({"model": "gmm_tom", "gmm_tom": {"steps": {"gmm": 7, "tom": 9}}})
    assert tp.gmm_tom.steps.gmm == 7


def test_layer_weights_must_match_layers():
    with pytest.raises(ValidationError, match="one weight per layer"):
        GmmTomParams(perceptual={"layers": ["relu1_2", "relu2_2"], "layer_weights": [1.0]})
