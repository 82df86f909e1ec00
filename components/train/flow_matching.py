"""FLUX flow-matching maths: latent packing, fill-mask packing, timestep sampling, the token-weighted loss.

Pure tensor functions: the layouts match diffusers' FluxFillPipeline exactly, so what the trainer
teaches is what the pipeline asks at inference.
"""

from __future__ import annotations

import math

import torch

from components.train.params import TimestepParams


def pack_latents(latents: torch.Tensor) -> torch.Tensor:
    """(B, C, H, W) latents -> (B, H/2 * W/2, 4C) tokens of 2x2 patches, as FluxPipeline._pack_latents."""
    b, c, h, w = latents.shape
    x = latents.view(b, c, h // 2, 2, w // 2, 2).permute(0, 2, 4, 1, 3, 5)
    return x.reshape(b, (h // 2) * (w // 2), c * 4)


def unpack_latents(tokens: torch.Tensor, h: int, w: int) -> torch.Tensor:
    """Inverse of `pack_latents` for latents of spatial size (h, w)."""
    b, _, c4 = tokens.shape
    c = c4 // 4
    x = tokens.view(b, h // 2, w // 2, c, 2, 2).permute(0, 3, 1, 4, 2, 5)
    return x.reshape(b, c, h, w)


def pack_fill_mask(mask: torch.Tensor, vae_scale_factor: int) -> torch.Tensor:
    """A pixel mask (B, 1, H, W) in [0, 1] -> FLUX Fill's packed mask tokens (B, tokens, 4 * scale^2)."""
    b, _, hp, wp = mask.shape
    s = vae_scale_factor
    h, w = hp // s, wp // s
    m = mask[:, 0].reshape(b, h, s, w, s).permute(0, 2, 4, 1, 3).reshape(b, s * s, h, w)
    return pack_latents(m)


def latent_image_ids(h: int, w: int, device=None, dtype=torch.float32) -> torch.Tensor:
    """RoPE position ids (tokens, 3) of a packed (h, w) latent grid, as FluxPipeline._prepare_latent_image_ids."""
    ids = torch.zeros(h // 2, w // 2, 3)
    ids[..., 1] += torch.arange(h // 2)[:, None]
    ids[..., 2] += torch.arange(w // 2)[None, :]
    return ids.reshape(-1, 3).to(device=device, dtype=dtype)


def person_token_weights(h: int, w: int, device=None) -> torch.Tensor:
    """(tokens,) weights: 1 for tokens in the right (person) half of a packed (h, w) latent canvas, 0 elsewhere."""
    cols = torch.arange(w // 2, device=device)
    row = (cols >= (w // 2) // 2).float()
    return row.repeat(h // 2)


def loss_token_weights(h: int, w: int, region: str, device=None) -> torch.Tensor:
    """(tokens,) loss weights of a packed (h, w) latent canvas: `canvas` every token, `person` the right half."""
    if region == "canvas":
        return torch.ones((h // 2) * (w // 2), device=device)
    if region == "person":
        return person_token_weights(h, w, device)
    raise ValueError(f"unknown loss region {region!r}; expected 'canvas' or 'person'")


def scheduler_training_sigmas(scheduler_config) -> torch.Tensor:
    """The training sigma grid of a FlowMatchEulerDiscreteScheduler built fresh from `scheduler_config`.

    Fresh, because a pipeline's own scheduler has its sigmas replaced by set_timesteps() at every inference
    (validation grids); a new one holds the training grid: uniform steps of 1/num_train_timesteps, with the
    static `shift` applied only when `use_dynamic_shifting` is off (dynamic shifting acts at inference only).
    """
    from diffusers import FlowMatchEulerDiscreteScheduler

    return FlowMatchEulerDiscreteScheduler.from_config(dict(scheduler_config)).sigmas.float().clone()


def flux_mu(seq_len: int, spec: TimestepParams) -> float:
    """FLUX's resolution-dependent shift: mu linear in the token count between the base and max anchors."""
    slope = (spec.max_shift - spec.base_shift) / (spec.max_seq_len - spec.base_seq_len)
    return spec.base_shift + slope * (seq_len - spec.base_seq_len)


def sample_density(batch: int, spec: TimestepParams, generator: torch.Generator | None = None) -> torch.Tensor:
    """u in [0, 1] per sample from the weighting density (SD3's logit-normal, mode, or uniform)."""
    if spec.weighting_scheme == "logit_normal":
        return torch.sigmoid(torch.normal(spec.logit_mean, spec.logit_std, size=(batch,), generator=generator))
    u = torch.rand(batch, generator=generator)
    if spec.weighting_scheme == "mode":
        u = 1 - u - spec.mode_scale * (torch.cos(math.pi * u / 2) ** 2 - 1 + u)
    return u


def sample_sigmas(
    batch: int,
    seq_len: int,
    spec: TimestepParams,
    generator: torch.Generator | None = None,
    device=None,
    grid: torch.Tensor | None = None,
) -> torch.Tensor:
    """Noise levels in (0, 1] per sample: u from the weighting density, then `spec.sampling` makes it a sigma.

    `scheduler`: the sigma at step floor(u * len(grid)) of the scheduler's training grid (see
    `scheduler_training_sigmas`), the reference trainer's indexing. `flux_shift`: FLUX's time shift exp(mu).
    """
    u = sample_density(batch, spec, generator)
    if spec.sampling == "scheduler":
        if grid is None:
            raise ValueError("timesteps.sampling='scheduler' needs the base model scheduler's sigma grid")
        idx = (u * len(grid)).long().clamp(0, len(grid) - 1)
        return grid[idx].to(device)
    u = u.clamp(1e-4, 1 - 1e-4)
    if spec.shift_resolution_dependent:
        e = math.exp(flux_mu(seq_len, spec))
        u = e / (e + (1 / u - 1))
    return u.to(device)


def noisy_latents(latents: torch.Tensor, noise: torch.Tensor, sigmas: torch.Tensor) -> torch.Tensor:
    """The rectified-flow interpolation x_t = (1 - sigma) x_0 + sigma * noise."""
    s = sigmas.view(-1, *([1] * (latents.dim() - 1))).to(latents.dtype)
    return (1 - s) * latents + s * noise


def token_weighted_loss(pred: torch.Tensor, target: torch.Tensor, token_weights: torch.Tensor) -> torch.Tensor:
    """Mean squared error of the velocity prediction over the tokens `token_weights` selects (all ones: plain MSE)."""
    per_token = ((pred.float() - target.float()) ** 2).mean(dim=-1)  # (B, tokens)
    w = token_weights.to(per_token.dtype).unsqueeze(0).expand_as(per_token)
    return (per_token * w).sum() / w.sum().clamp_min(1.0)
