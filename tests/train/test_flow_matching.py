"""FLUX flow-matching maths: layouts identical to FluxFillPipeline, the loss regions, both sigma samplings."""

from __future__ import annotations

import pytest
import torch

from components.train.flow_matching import (
    latent_image_ids,
    loss_token_weights,
    pack_fill_mask,
    pack_latents,
    person_token_weights,
    sample_sigmas,
    scheduler_training_sigmas,
    token_weighted_loss,
    unpack_latents,
)
from components.train.params import TimestepParams, TinyModelParams
from components.train.tiny import build_tiny_fill_pipeline

# FLUX.1 [dev]'s scheduler config as diffusers lays it out (the reference trainer reads FLUX.1-dev's).
FLUX_DEV_SCHEDULER = {"num_train_timesteps": 1000, "shift": 3.0, "use_dynamic_shifting": True, "base_shift": 0.5,
                      "max_shift": 1.15, "base_image_seq_len": 256, "max_image_seq_len": 4096}
REFERENCE_TIMESTEPS = TimestepParams(sampling="scheduler", weighting_scheme="uniform")


def test_pack_then_unpack_returns_the_latents():
    x = torch.randn(2, 4, 8, 12)
    assert torch.equal(unpack_latents(pack_latents(x), 8, 12), x)


def test_packed_mask_and_ids_match_what_flux_fill_pipeline_builds():
    pipe = build_tiny_fill_pipeline(TinyModelParams())
    mask = (torch.rand(1, 1, 16, 32) > 0.5).float()
    masked_latents = torch.randn(1, 4, 8, 16)
    theirs_mask, theirs_latents = pipe.prepare_mask_latents(
        mask, masked_latents, 1, 4, 1, 16, 32, torch.float32, "cpu", None
    )
    assert torch.equal(pack_fill_mask(mask, 2), theirs_mask)
    scaled = (masked_latents - pipe.vae.config.shift_factor) * pipe.vae.config.scaling_factor
    assert torch.allclose(pack_latents(scaled), theirs_latents)
    assert torch.equal(latent_image_ids(8, 16), pipe._prepare_latent_image_ids(1, 4, 8, "cpu", torch.float32))


def test_person_token_weights_select_the_right_half_of_the_canvas():
    w = person_token_weights(4, 8).view(2, 4)  # 2 rows x 4 packed columns
    assert w.tolist() == [[0, 0, 1, 1], [0, 0, 1, 1]]


def test_person_loss_ignores_errors_on_the_garment_half():
    target = torch.zeros(1, 8, 3)
    pred = torch.zeros(1, 8, 3)
    weights = loss_token_weights(4, 8, "person")
    pred[0, weights == 0] = 5.0  # garment half wrong
    assert token_weighted_loss(pred, target, weights).item() == 0.0
    pred[0, weights == 1] = 1.0
    assert token_weighted_loss(pred, target, weights).item() == 1.0


def test_canvas_loss_is_the_plain_mean_squared_error_over_every_latent():
    pred, target = torch.randn(2, 8, 16), torch.randn(2, 8, 16)
    weights = loss_token_weights(4, 8, "canvas")
    assert weights.tolist() == [1.0] * 8
    torch.testing.assert_close(token_weighted_loss(pred, target, weights), torch.nn.functional.mse_loss(pred, target))
    pred_garment_wrong = target.clone()
    pred_garment_wrong[:, person_token_weights(4, 8) == 0] += 1.0  # the garment half counts too
    assert token_weighted_loss(pred_garment_wrong, target, weights).item() == pytest.approx(0.5)


def test_unknown_loss_region_is_an_error():
    with pytest.raises(ValueError, match="unknown loss region"):
        loss_token_weights(4, 8, "garment")


def test_flux_shift_sigmas_lie_in_the_unit_interval_and_shift_up_with_resolution():
    spec = TimestepParams(sampling="flux_shift", weighting_scheme="logit_normal")
    g = torch.Generator().manual_seed(0)
    small = sample_sigmas(4000, 64, spec, g)
    g = torch.Generator().manual_seed(0)
    large = sample_sigmas(4000, 4096, spec, g)
    assert small.min() > 0 and large.max() < 1
    assert large.mean() > small.mean() + 0.05  # longer sequences train at noisier timesteps, as FLUX does
    assert large.median() > 0.7  # the shift that puts vton_lora's median sigma near 0.74-0.82 at full size


def test_scheduler_sampling_is_uniform_on_the_training_grid_of_a_dynamic_shifting_config():
    grid = scheduler_training_sigmas(FLUX_DEV_SCHEDULER)
    assert len(grid) == 1000 and grid.max() == 1.0 and grid.min() == pytest.approx(1e-3)
    g = torch.Generator().manual_seed(0)
    small = sample_sigmas(20000, 64, REFERENCE_TIMESTEPS, g, grid=grid)
    g = torch.Generator().manual_seed(0)
    large = sample_sigmas(20000, 4096, REFERENCE_TIMESTEPS, g, grid=grid)
    assert torch.equal(small, large)  # dynamic shifting acts at inference only: no resolution shift in training
    assert torch.isin(small, grid).all()
    for q in (0.1, 0.25, 0.5, 0.75, 0.9):  # the quantiles of a uniform density
        assert torch.quantile(small, q).item() == pytest.approx(q, abs=0.02)


def test_scheduler_sampling_applies_the_static_shift_of_a_config_without_dynamic_shifting():
    grid = scheduler_training_sigmas({**FLUX_DEV_SCHEDULER, "use_dynamic_shifting": False})
    sigmas = sample_sigmas(20000, 64, REFERENCE_TIMESTEPS, torch.Generator().manual_seed(0), grid=grid)
    # shift 3 maps the uniform median 0.5 to 3 * 0.5 / (1 + 2 * 0.5) = 0.75
    assert sigmas.median().item() == pytest.approx(0.75, abs=0.02)


def test_scheduler_sampling_picks_the_step_the_reference_trainer_picks_from_the_same_random_draws():
    from diffusers import FlowMatchEulerDiscreteScheduler
    from diffusers.training_utils import compute_density_for_timestep_sampling

    scheduler = FlowMatchEulerDiscreteScheduler.from_config(FLUX_DEV_SCHEDULER)
    u = compute_density_for_timestep_sampling("none", 64, generator=torch.Generator().manual_seed(3))
    timesteps = scheduler.timesteps[(u * scheduler.config.num_train_timesteps).long()]
    ours = sample_sigmas(64, 4096, REFERENCE_TIMESTEPS, torch.Generator().manual_seed(3),
                         grid=scheduler_training_sigmas(FLUX_DEV_SCHEDULER))
    torch.testing.assert_close(ours, timesteps / 1000)  # the transformer sees timestep / 1000 there, sigma here


def test_scheduler_grid_is_built_fresh_so_inference_on_the_pipeline_cannot_change_it():
    pipe = build_tiny_fill_pipeline(TinyModelParams())
    before = scheduler_training_sigmas(pipe.scheduler.config)
    pipe.scheduler.set_timesteps(4, mu=1.0)  # what a validation grid's inference does to the pipeline's scheduler
    torch.testing.assert_close(scheduler_training_sigmas(pipe.scheduler.config), before)


def test_scheduler_sampling_without_a_grid_is_an_error():
    with pytest.raises(ValueError, match="sigma grid"):
        sample_sigmas(2, 64, REFERENCE_TIMESTEPS)
