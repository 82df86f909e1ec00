"""One flow-matching training step of the FLUX Fill transformer on a batch of cached canvases."""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

import torch

from components.train.flow_matching import (
    latent_image_ids,
    loss_token_weights,
    noisy_latents,
    pack_fill_mask,
    pack_latents,
    sample_sigmas,
    token_weighted_loss,
)
from components.train.params import TimestepParams


@dataclass(frozen=True)
class StepConfig:
    """What a step needs besides the batch: noise schedule, training guidance, pixels per latent, loss region.

    `sigma_grid` is the base scheduler's training sigmas, needed when `timesteps.sampling` is `scheduler`;
    `size_map` says the transformer reads the size map after the mask (a size-aware CatVTON-Flux model).
    """

    timesteps: TimestepParams
    guidance_scale: float
    vae_scale_factor: int
    loss_region: str = "person"
    sigma_grid: torch.Tensor | None = None
    size_map: bool = False  # append the batch's packed size map to the input (components/train/size_map.py)


@lru_cache(maxsize=64)
def _positions(
    h: int, w: int, region: str, device: torch.device, dtype: torch.dtype
) -> tuple[torch.Tensor, torch.Tensor]:
    """RoPE ids and loss weights of an (h, w) latent canvas: the same for every step of a bucket."""
    return latent_image_ids(h, w, device, dtype), loss_token_weights(h, w, region, device)


def flow_matching_loss(
    transformer: torch.nn.Module,
    batch: dict[str, torch.Tensor],
    text: dict[str, torch.Tensor],
    cfg: StepConfig,
    generator: torch.Generator | None = None,
    size_conditioner: torch.nn.Module | None = None,
    noise: torch.Tensor | None = None,
    sigmas: torch.Tensor | None = None,
) -> torch.Tensor:
    """Flow-matching loss over `cfg.loss_region`: predict (noise - x0) from x_t, the masked canvas and the mask
    (and the size map, with `cfg.size_map`)."""
    param = next(transformer.parameters())
    device, dtype = param.device, param.dtype
    latents = batch["latents"].to(device, torch.float32)
    b, _, h, w = latents.shape
    seq_len = (h // 2) * (w // 2)
    if noise is None:
        noise = torch.randn(latents.shape, generator=generator).to(device)
    if sigmas is None:
        sigmas = sample_sigmas(b, seq_len, cfg.timesteps, generator, grid=cfg.sigma_grid)
    sigmas = sigmas.to(device)
    x_t = noisy_latents(latents, noise.to(device), sigmas)
    img_ids, token_weights = _positions(h, w, cfg.loss_region, device, dtype)
    parts = [
        pack_latents(x_t),
        pack_latents(batch["masked_latents"].to(device, torch.float32)),
        pack_fill_mask(batch["mask"].to(device, torch.float32), cfg.vae_scale_factor),
    ]
    if cfg.size_map:  # packed exactly like the mask, read by the size map's own x_embedder columns
        parts.append(pack_fill_mask(batch["size_map"].to(device, torch.float32), cfg.vae_scale_factor))
    hidden = torch.cat(parts, dim=-1)
    cat = batch["category"].to(device)
    prompt_embeds = text["prompt_embeds"].to(device)[cat]
    pooled = text["pooled"].to(device)[cat]
    if size_conditioner is not None:
        pooled = size_conditioner(pooled, batch["ratios"].to(device))
    pred = transformer(
        hidden_states=hidden.to(dtype),
        encoder_hidden_states=prompt_embeds.to(dtype),
        pooled_projections=pooled.to(dtype),
        timestep=sigmas.to(dtype),
        img_ids=img_ids,
        txt_ids=torch.zeros(prompt_embeds.shape[1], 3, device=device, dtype=dtype),
        guidance=torch.full((b,), cfg.guidance_scale, device=device, dtype=dtype),
        return_dict=False,
    )[0]
    target = pack_latents(noise.to(device) - latents)
    return token_weighted_loss(pred, target, token_weights)
