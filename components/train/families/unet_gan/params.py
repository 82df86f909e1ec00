"""params.yaml `train.unet_gan`: the U-Net + self-attention generator, the PatchGAN and the loss weights."""

from __future__ import annotations

from pydantic import Field, model_validator

from components.config.base import Section
from components.train.families.perceptual_params import PerceptualParams


class UnetGanParams(Section):
    """Sizes, learning rates and loss weights of the U-Net + self-attention GAN (widths are configurable)."""

    width: int = Field(default=48, gt=0)  # training / inference resolution (the annotate frame is resized to it)
    height: int = Field(default=64, gt=0)
    base_channels: int = Field(default=64, gt=0)  # encoder widths base x (1, 2, 4, 8): 64 -> 128 -> 256 -> 512
    bottleneck_channels: int | None = Field(default=None, gt=0)  # None: 8 x base_channels
    res_blocks: int = Field(default=9, ge=0)
    attention: bool = True  # self-attention at the bottleneck
    disc_channels: int = Field(default=64, gt=0)  # PatchGAN widths 64 -> 128 -> 256 -> 512 (70x70 receptive field)
    lr_g: float = Field(default=2e-4, gt=0)
    lr_d: float = Field(default=1e-4, gt=0)
    beta1: float = Field(default=0.5, ge=0, lt=1)
    beta2: float = Field(default=0.999, gt=0, lt=1)
    l1_weight: float = Field(default=10.0, ge=0)
    adversarial_weight: float = Field(default=1.0, ge=0)
    feature_matching_weight: float = Field(default=10.0, ge=0)
    gan_start_step: int = Field(default=0, ge=0)  # reconstruction-only warm-up before the adversarial terms
    perceptual: PerceptualParams = PerceptualParams()

    @model_validator(mode="after")
    def _check(self) -> "UnetGanParams":
        if self.width % 8 or self.height % 8:
            raise ValueError(f"train.unet_gan: width and height must be multiples of 8 (3 downsamplings), got "
                             f"{self.width}x{self.height}")
        return self
