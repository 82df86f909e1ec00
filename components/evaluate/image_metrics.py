"""Image-quality metrics with torchmetrics: per-pair SSIM, PSNR and LPIPS, set-level FID and KID.

Inputs are equally sized PIL images; FID/KID need at least two images on each side and return NaN
below that (a distance between distributions of one sample is not defined).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

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


# PSNR of identical images is infinite; the MSE floor caps it at 10 * log10(1 / 1e-10) = 100 dB so that means
# stay finite (a perfect pair then counts as 100 dB, far above any real result).
PSNR_MSE_FLOOR = 1e-10


def psnr_scores(fakes: list[Image.Image], reals: list[Image.Image]) -> list[float]:
    """PSNR (dB, data range 1.0) of each (fake, real) pair over all pixels and channels; 100 dB for identical images."""
    out: list[float] = []
    for fake, real in zip(fakes, reals, strict=True):
        a, b = to_float_batch([fake]).double(), to_float_batch([real]).double()
        mse = max(float(((a - b) ** 2).mean()), PSNR_MSE_FLOOR)
        out.append(10.0 * math.log10(1.0 / mse))
    return out


def lpips_scores(network: nn.Module, fakes: list[Image.Image], reals: list[Image.Image]) -> list[float]:
    """LPIPS distance of each (fake, real) pair (0.0 for identical images)."""
    out: list[float] = []
    with torch.no_grad():
        for fake, real in zip(fakes, reals, strict=True):
            d = network(to_float_batch([fake]), to_float_batch([real]), normalize=True)
            out.append(max(0.0, float(d.reshape(-1)[0])))
    return out


KID_SUBSETS = 100  # the number of subsets KID averages over (the value of the KID paper and torch-fidelity)


@dataclass(frozen=True)
class SetDistance:
    """FID and KID of one generated set against the real photos, with what they were computed on."""

    fid: float
    kid: float
    kid_std: float
    n_fake: int
    n_real: int
    kid_subset_size: int
    kid_subsets: int


def kid_subsets(n_real: int, n_fake: int, subset_size: int, wanted: int = KID_SUBSETS) -> int:
    """Subsets KID averages: `wanted`, or fewer when the sets hold fewer distinct (real, fake) subset pairs."""
    return max(1, min(wanted, math.comb(n_real, subset_size) * math.comb(n_fake, subset_size)))


def fid_kid(
    reals: list[Image.Image],
    fakes: list[Image.Image],
    feature: nn.Module,
    kid_subset_size: int = 50,
) -> SetDistance:
    """FID and KID between `reals` and `fakes` on `feature` (uint8 images -> N x num_features); NaN below 2 each."""
    from torchmetrics.image.fid import FrechetInceptionDistance
    from torchmetrics.image.kid import KernelInceptionDistance

    n = min(len(reals), len(fakes))
    if n < 2:
        return SetDistance(math.nan, math.nan, math.nan, len(fakes), len(reals), 0, 0)
    size = min(kid_subset_size, n)
    subsets = kid_subsets(len(reals), len(fakes), size)
    fid = FrechetInceptionDistance(feature=feature, reset_real_features=True)
    kid = KernelInceptionDistance(feature=feature, subset_size=size, subsets=subsets)
    real_batch, fake_batch = to_uint8_batch(reals), to_uint8_batch(fakes)
    with torch.no_grad():
        for metric in (fid, kid):
            metric.update(real_batch, real=True)
            metric.update(fake_batch, real=False)
        fid_value = float(fid.compute())
        kid_mean, kid_std = kid.compute()
    return SetDistance(max(0.0, fid_value), float(kid_mean), float(kid_std), len(fakes), len(reals), size, subsets)
