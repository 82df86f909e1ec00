"""Image-quality metrics with torchmetrics: per-pair SSIM and LPIPS, set-level FID and KID.

Inputs are equally sized PIL images; FID/KID need at least two images on each side and return NaN
below that (a distance between distributions of one sample is not defined).
"""

from __future__ import annotations

import math

import numpy as np
import torch
from PIL import Image
from torch import nn


def to_float_batch(images: list[Image.Image]) -> torch.Tensor:
    """Nx3xHxW float tensor in [0, 1]."""
    arr = np.stack([np.asarray(im.convert("RGB"), dtype=np.float32) / 255.0 for im in images])
    return torch.from_numpy(arr).permute(0, 3, 1, 2).contiguous()


def to_uint8_batch(images: list[Image.Image]) -> torch.Tensor:
    """Nx3xHxW uint8 tensor (what FID/KID's Inception expects)."""
    arr = np.stack([np.asarray(im.convert("RGB"), dtype=np.uint8) for im in images])
    return torch.from_numpy(arr).permute(0, 3, 1, 2).contiguous()


def ssim_scores(fakes: list[Image.Image], reals: list[Image.Image]) -> list[float]:
    """SSIM of each (fake, real) pair (1.0 for identical images)."""
    from torchmetrics.functional.image import structural_similarity_index_measure

    if not fakes:
        return []
    with torch.no_grad():
        s = structural_similarity_index_measure(
            to_float_batch(fakes), to_float_batch(reals), data_range=1.0, reduction="none"
        )
    return [float(v) for v in s.reshape(-1)]


def lpips_scores(network: nn.Module, fakes: list[Image.Image], reals: list[Image.Image]) -> list[float]:
    """LPIPS distance of each (fake, real) pair (0.0 for identical images)."""
    out: list[float] = []
    with torch.no_grad():
        for fake, real in zip(fakes, reals, strict=True):
            d = network(to_float_batch([fake]), to_float_batch([real]), normalize=True)
            out.append(max(0.0, float(d.reshape(-1)[0])))
    return out


def fid_kid(
    reals: list[Image.Image],
    fakes: list[Image.Image],
    feature: nn.Module,
    kid_subset_size: int = 50,
) -> dict[str, float]:
    """FID and KID between `reals` and `fakes` on `feature` (uint8 images -> N x num_features); NaN below 2 each."""
    from torchmetrics.image.fid import FrechetInceptionDistance
    from torchmetrics.image.kid import KernelInceptionDistance

    n = min(len(reals), len(fakes))
    if n < 2:
        return {"fid": math.nan, "kid": math.nan}
    fid = FrechetInceptionDistance(feature=feature, reset_real_features=True)
    kid = KernelInceptionDistance(feature=feature, subset_size=min(kid_subset_size, n), subsets=20)
    real_batch, fake_batch = to_uint8_batch(reals), to_uint8_batch(fakes)
    with torch.no_grad():
        for metric in (fid, kid):
            metric.update(real_batch, real=True)
            metric.update(fake_batch, real=False)
        fid_value = float(fid.compute())
        kid_mean, _ = kid.compute()
    return {"fid": max(0.0, fid_value), "kid": float(kid_mean)}
