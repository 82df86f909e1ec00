"""params.yaml section `train.gmm_tom`: sizes, phases, optimisation and loss weights of the GMM + TOM family."""

from __future__ import annotations

from typing import Literal

from pydantic import Field, model_validator

from components.config.base import Section
from components.train.families.perceptual_params import PerceptualParams

# Named sizes: `cpu` learns in minutes on a laptop (smoke profile); `full` is VITON's 256x192 with CP-VTON widths.
SIZES: dict[str, dict] = {
    "cpu": {"resolution": (48, 64), "gmm_width": 16, "tom_width": 16},
    "full": {"resolution": (192, 256), "gmm_width": 64, "tom_width": 64},
}
LEVELS = 4  # stride-2 levels of the feature extractors and the U-Net: sides must be multiples of 16


class LossWeights(Section):
    """Weights of each term; a zero weight switches the term (and its network, for `adversarial`) off."""

    gmm_l1: float = Field(default=1.0, ge=0)  # warped garment vs the garment as worn
    smoothness: float = Field(default=0.04, ge=0)  # second-order differences of the TPS lattice
    l1: float = Field(default=1.0, ge=0)  # TOM result vs the target person
    # The VGG19 perceptual and Gram style weights are `perceptual.weight` / `perceptual.style_weight`.
    mask: float = Field(default=1.0, ge=0)  # composition mask vs the warped garment's mask
    adversarial: float = Field(default=0.0, ge=0)  # PatchGAN LSGAN term; off by default


TOM_LAYERS = ["relu1_2", "relu2_2", "relu3_2", "relu4_2"]  # CP-VTON's perceptual layers, shallow ones down-weighted


def _tom_perceptual() -> PerceptualParams:
    return PerceptualParams(layers=TOM_LAYERS, layer_weights=[1 / 32, 1 / 16, 1 / 8, 1 / 4], weight=1.0,
                            style_weight=100.0)


class PhaseSteps(Section):
    """Optimizer steps of each phase: GMM first, then TOM on the (frozen) GMM's warps."""

    gmm: int = Field(default=300, ge=1)
    tom: int = Field(default=300, ge=1)


class GmmTomParams(Section):
    """The GMM + TOM warping try-on network (VITON-HD / CP-VTON style), trained in two phases.

    `train.max_steps` and `train.batch_size` do not apply: the steps of each phase and the batch size are here.
    """

    size: Literal["cpu", "full"] = "cpu"
    # None takes the value of `size`; set them to override one knob of a named size.
    resolution: tuple[int, int] | None = None  # (width, height)
    gmm_width: int | None = Field(default=None, gt=0)
    tom_width: int | None = Field(default=None, gt=0)
    grid_size: int = Field(default=5, ge=3)  # TPS control points per side
    steps: PhaseSteps = PhaseSteps()
    batch_size: int = Field(default=4, gt=0)
    learning_rate: float = Field(default=2e-4, gt=0)
    beta1: float = Field(default=0.5, gt=0, lt=1)
    beta2: float = Field(default=0.999, gt=0, lt=1)
    max_grad_norm: float = Field(default=5.0, gt=0)
    weights: LossWeights = LossWeights()
    perceptual: PerceptualParams = Field(default_factory=_tom_perceptual)  # off, and said so, without VGG19 weights
    # Checkpointing, logging, validation grids, device and threads follow the shared `train` keys
    # (checkpoint_every, checkpoints_to_keep, tracking.*, device, num_threads): see trainer.Schedule.

    @model_validator(mode="after")
    def _check(self) -> "GmmTomParams":
        if len(self.perceptual.layer_weights) != len(self.perceptual.layers):
            raise ValueError("train.gmm_tom.perceptual: layer_weights needs one weight per layer, got "
                             f"{len(self.perceptual.layer_weights)} for {len(self.perceptual.layers)}")
        w, h = self.frame
        if w % 2 ** LEVELS or h % 2 ** LEVELS or w <= 0 or h <= 0:
            raise ValueError(f"train.gmm_tom.resolution: sides must be positive multiples of {2 ** LEVELS}, "
                             f"got {(w, h)}")
        return self

    @property
    def frame(self) -> tuple[int, int]:
        """(width, height) the networks run at."""
        return tuple(self.resolution or SIZES[self.size]["resolution"])

    @property
    def widths(self) -> tuple[int, int]:
        """Base channel widths (GMM, TOM)."""
        preset = SIZES[self.size]
        return self.gmm_width or preset["gmm_width"], self.tom_width or preset["tom_width"]
