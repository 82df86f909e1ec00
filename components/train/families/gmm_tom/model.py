"""GMM + TOM as one model: the person representation, the two networks, the optional critic, and a forward pass."""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from components.train.families.gmm_tom.networks import GMM, TOM, PatchDiscriminator
from components.train.families.gmm_tom.params import LEVELS, GmmTomParams
from components.train.families.size import SIZE_CHANNELS, size_inputs, widen_input

POSE_CHANNELS = 18  # COCO-18 keypoint heatmaps
PARSE_CHANNELS = 20  # LIP one-hot, cleared under the agnostic mask
# What a batch holds: the tensor fields of families.representation.PersonInputs (NCHW; images in [-1, 1],
# masks and heatmaps in [0, 1]).
BATCH_KEYS = ("agnostic", "pose", "parse", "body_mask", "garment", "cloth_mask", "target", "worn_mask",
              "agnostic_mask", "fit_ratios")
PERSON_CHANNELS = POSE_CHANNELS + 1 + 3 + PARSE_CHANNELS  # pose, body shape, agnostic RGB, agnostic parse
GARMENT_CHANNELS = 3 + 1  # garment RGB and its mask
SHAPE_ROWS = 16  # the body shape is the person mask at 16 rows (CP-VTON's 16x12): an outline, not the garment's edges


def body_shape(body_mask: torch.Tensor) -> torch.Tensor:
    """The person mask blurred to a coarse silhouette (down to SHAPE_ROWS rows and back), in [-1, 1]."""
    h, w = body_mask.shape[-2:]
    rows = min(SHAPE_ROWS, h)
    coarse = F.interpolate(body_mask, size=(rows, max(1, round(rows * w / h))), mode="area")
    return F.interpolate(coarse, size=(h, w), mode="bilinear", align_corners=False) * 2 - 1


def person_representation(batch: dict[str, torch.Tensor]) -> torch.Tensor:
    """The clothing-agnostic person: pose heatmaps, coarse body shape, the agnostic image and parse, stacked."""
    return torch.cat([batch["pose"], body_shape(batch["body_mask"]), batch["agnostic"], batch["parse"]], dim=1)


class GmmTom(nn.Module):
    """The GMM (warp) and TOM (render + compose) networks of one try-on model, plus the critic when used."""

    def __init__(self, params: GmmTomParams, with_critic: bool = True, size_conditioning: bool = False) -> None:
        super().__init__()
        w, h = params.frame
        gmm_width, tom_width = params.widths
        self.frame = (w, h)
        self.grid_size = params.grid_size
        self.gmm = GMM(PERSON_CHANNELS, GARMENT_CHANNELS, h, w, gmm_width, params.grid_size, LEVELS)
        self.tom = TOM(PERSON_CHANNELS, tom_width, LEVELS)
        # The critic only trains (serving never needs it): built when the adversarial term is on.
        use_critic = with_critic and params.weights.adversarial > 0
        self.critic = PatchDiscriminator(PERSON_CHANNELS + 3, tom_width) if use_critic else None
        # Size conditioning: the GMM's person features and TOM read the size planes too (the GMM warps the garment
        # onto the expected region, TOM renders there), through zero-initialised weights: at initialisation the
        # model computes exactly what the size-blind one does.
        self.size_channels = SIZE_CHANNELS if size_conditioning else 0
        if self.size_channels:
            first = self.gmm.person_features.body[0]
            first[0] = widen_input(first[0], self.size_channels)
            self.tom.unet.stem[0] = widen_input(self.tom.unet.stem[0], self.size_channels)

    def size_planes(self, batch: dict[str, torch.Tensor]) -> torch.Tensor | None:
        """The size map and ratio planes of a size-conditioned model (None for a size-blind one)."""
        if not self.size_channels:
            return None
        return size_inputs(batch).to(batch["agnostic"].device, batch["agnostic"].dtype)

    def warp(self, batch: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
        """The GMM's outputs for `batch`."""
        person, size = person_representation(batch), self.size_planes(batch)
        if size is not None:
            person = torch.cat([person, size], dim=1)
        return self.gmm(person, batch["garment"], batch["cloth_mask"])

    def render(self, batch: dict[str, torch.Tensor], warp: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
        """TOM's outputs for `batch` given the GMM's warp."""
        return self.tom(person_representation(batch), warp["warped"], warp["warped_mask"], self.size_planes(batch))

    def critique(self, batch: dict[str, torch.Tensor], image: torch.Tensor) -> torch.Tensor:
        """The critic's patch logits for `image` conditioned on the person representation."""
        return self.critic(torch.cat([person_representation(batch), image], dim=1))

    def generator_state(self) -> dict[str, torch.Tensor]:
        """The GMM and TOM weights (what a packaged model holds; the critic stays with the checkpoints)."""
        return {k: v for k, v in self.state_dict().items() if not k.startswith("critic.")}

    @torch.no_grad()
    def try_on(self, batch: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
        """Warp then render, without gradients: every intermediate the validation grid shows."""
        warp = self.warp(batch)
        return {**warp, **self.render(batch, warp)}
