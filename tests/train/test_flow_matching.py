"""FLUX flow-matching maths: layouts identical to FluxFillPipeline, person-half loss, FLUX timestep shift."""

from __future__ import annotations

import torch

from components.train.flow_matching import (
    latent_image_ids,
    pack_fill_mask,
    pack_latents,
    person_half_loss,
    person_token_weights,
    sample_sigmas,
    unpack_latents,
)
from components.train.params import TimestepParams, TinyModelParams
from components.train.tiny import build_tiny_fill_pipeline


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


def test_loss_ignores_errors_on_the_garment_half():
    target = torch.zeros(1, 8, 3)
    pred = torch.zeros(1, 8, 3)
    weights = person_token_weights(4, 8)
    pred[0, weights == 0] = 5.0  # garment half wrong
    assert person_half_loss(pred, target, weights).item() == 0.0
    pred[0, weights == 1] = 1.0
    assert person_half_loss(pred, target, weights).item() == 1.0


def test_sigmas_lie_in_the_unit_interval_and_shift_up_with_resolution():
    spec = TimestepParams()
    g = torch.Generator().manual_seed(0)
    small = sample_sigmas(4000, 64, spec, g)
    g = torch.Generator().manual_seed(0)
    large = sample_sigmas(4000, 4096, spec, g)
    assert small.min() > 0 and large.max() < 1
    assert large.mean() > small.mean() + 0.05  # longer sequences train at noisier timesteps, as FLUX does
