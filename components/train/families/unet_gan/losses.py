"""The U-Net GAN's losses: LSGAN, discriminator feature matching, L1 and (when VGG19 is there) perceptual."""

from __future__ import annotations

import torch
from torch import nn


def lsgan_d_loss(real_out: torch.Tensor, fake_out: torch.Tensor) -> torch.Tensor:
    """Least-squares discriminator loss: real patches to 1, generated to 0 (halved, as in the LSGAN paper)."""
    return 0.5 * (((real_out - 1) ** 2).mean() + (fake_out ** 2).mean())


def lsgan_g_loss(fake_out: torch.Tensor) -> torch.Tensor:
    """Least-squares generator loss: generated patches to 1."""
    return 0.5 * ((fake_out - 1) ** 2).mean()


def feature_matching_loss(fake_feats: list[torch.Tensor], real_feats: list[torch.Tensor]) -> torch.Tensor:
    """pix2pixHD's feature matching: L1 between D's intermediate features on generated and real pairs."""
    inner = list(zip(fake_feats[:-1], real_feats[:-1]))
    return sum(nn.functional.l1_loss(f, r.detach()) for f, r in inner) / max(len(inner), 1)


def masked_l1(a: torch.Tensor, b: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    """Mean |a - b| over the pixels where `mask` (Bx1xHxW) is on (0 when it is empty)."""
    weight = mask.expand_as(a)
    return (weight * (a - b).abs()).sum() / weight.sum().clamp_min(1.0)
