"""The U-Net GAN predictor: model.json + weights.safetensors -> person, garment, mask, category -> image."""

from __future__ import annotations

from pathlib import Path

import torch

from components.train.families import read_model_config
from components.train.families.predictor import BaselinePredictor, read_weights
from components.train.families.size import SIZE_CHANNELS
from components.train.families.unet_gan.networks import UNetGenerator
from components.train.families.unet_gan.trainer import generate


class UnetGanPredictor(BaselinePredictor):
    """The trained generator behind the Predictor contract."""

    def __init__(self, config: dict, state: dict[str, torch.Tensor], device: str = "cpu") -> None:
        super().__init__(config, device)
        net = config["network"]
        self.G = UNetGenerator(base=net["base_channels"], bottleneck=net["bottleneck_channels"],
                               res_blocks=net["res_blocks"], attention=net["attention"])
        if self.size_aware:
            self.G.widen_for_size(SIZE_CHANNELS)
        self.G.load_state_dict(state)
        self.G.to(self.device).eval()

    def generate(self, batch: dict) -> torch.Tensor:
        """The composite try-on of a collated batch."""
        return generate(self.G, batch)


def load_predictor(model_dir: Path, device: str = "cpu") -> UnetGanPredictor:
    """The predictor of a model directory the unet_gan trainer wrote."""
    return UnetGanPredictor(read_model_config(model_dir), read_weights(model_dir), device)
