"""The GMM and TOM objectives as pure functions of network outputs and a batch.

Batches are dicts of NCHW tensors (images in [-1, 1], masks in [0, 1]) with the keys of `model.BATCH_KEYS`.
Each function returns the total loss and its terms (floats, for the metrics).
"""

from __future__ import annotations

from collections.abc import Callable

import torch
import torch.nn.functional as F

from components.train.families.gmm_tom.params import LossWeights
from components.train.families.gmm_tom.tps import second_order_smoothness

# (result, target) -> (perceptual, style) on VGG19 relu1_2, relu2_2, relu3_2, relu4_2; None when VGG is unavailable.
PerceptualFn = Callable[[torch.Tensor, torch.Tensor], tuple[torch.Tensor, torch.Tensor]]


def worn_garment(batch: dict[str, torch.Tensor]) -> torch.Tensor:
    """The garment as the person wears it, on white: what the GMM's warp should look like."""
    m = batch["worn_mask"]
    return batch["target"] * m + (1 - m)


def gmm_loss(out: dict[str, torch.Tensor], batch: dict[str, torch.Tensor], w: LossWeights,
             grid_size: int) -> tuple[torch.Tensor, dict[str, float]]:
    """L1 of the warped garment to the worn garment plus second-order smoothness of the TPS lattice."""
    l1 = F.l1_loss(out["warped"], worn_garment(batch))
    smooth = second_order_smoothness(out["offsets"], grid_size)
    total = w.gmm_l1 * l1 + w.smoothness * smooth
    return total, {"gmm_l1": l1.item(), "smoothness": smooth.item(), "loss": total.item()}


def lsgan(logits: torch.Tensor, real: bool) -> torch.Tensor:
    """Least-squares GAN loss of critic `logits` against the label real/fake."""
    return (logits - (1.0 if real else 0.0)).pow(2).mean()


def tom_loss(out: dict[str, torch.Tensor], warp: dict[str, torch.Tensor], batch: dict[str, torch.Tensor],
             w: LossWeights, perceptual: PerceptualFn | None = None, vgg_weight: float = 0.0,
             style_weight: float = 0.0, critic: Callable[[torch.Tensor], torch.Tensor] | None = None
             ) -> tuple[torch.Tensor, dict[str, float]]:
    """L1 + VGG perceptual + Gram style of the composite, L1 of the composition mask to the warped mask, and the
    generator's adversarial term when a critic is given. Terms without their network (VGG, critic) are absent.
    """
    result, target = out["result"], batch["target"]
    l1 = F.l1_loss(result, target)
    mask = F.l1_loss(out["composition"], warp["warped_mask"])
    total = w.l1 * l1 + w.mask * mask
    terms = {"l1": float(l1.detach()), "mask_l1": float(mask.detach())}
    if perceptual is not None and (vgg_weight > 0 or style_weight > 0):
        vgg, style = perceptual(result, target)
        total = total + vgg_weight * vgg + style_weight * style
        terms.update(vgg=float(vgg.detach()), style=float(style.detach()))
    if critic is not None and w.adversarial > 0:
        adv = lsgan(critic(result), real=True)
        total = total + w.adversarial * adv
        terms["adversarial"] = float(adv.detach())
    terms["loss"] = float(total.detach())
    return total, terms


def vgg_terms(features: Callable[[torch.Tensor], list[torch.Tensor]], layer_weights: tuple[float, ...]
              ) -> PerceptualFn:
    """The (perceptual, style) pair on frozen VGG19 `features` (components/train/families/perceptual.py)."""
    from components.train.families.perceptual import perceptual_loss, style_loss

    def terms(result: torch.Tensor, target: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        fa = features(result)
        with torch.no_grad():
            fb = features(target)
        return perceptual_loss(fa, fb, layer_weights), style_loss(fa, fb)

    return terms


def region_l1(image: torch.Tensor, target: torch.Tensor, region: torch.Tensor) -> torch.Tensor:
    """Per-sample mean |image - target| over the pixels of `region` (B, 1, H, W), in [0, 1] image units."""
    diff = (image - target).abs().mean(dim=1, keepdim=True) / 2  # [-1, 1] images: halve to [0, 1] units
    area = region.sum(dim=(1, 2, 3)).clamp_min(1.0)
    return (diff * region).sum(dim=(1, 2, 3)) / area
