"""The GMM + TOM predictor: annotate the photo, warp the garment, render and compose, map back to the photo."""

from __future__ import annotations

from pathlib import Path

import torch

from components.errors import ConfigError
from components.train.families.gmm_tom.model import GmmTom
from components.train.families.gmm_tom.params import GmmTomParams
from components.train.families.base import is_size_aware
from components.train.families.predictor import BaselinePredictor, read_weights


class GmmTomPredictor(BaselinePredictor):
    """The Predictor of a trained GMM + TOM model directory (deterministic: steps and seed are not used)."""

    def __init__(self, config: dict, model: GmmTom, device: str = "cpu") -> None:
        super().__init__(config, device)
        self.model = model.to(self.device).eval()

    def generate(self, batch: dict[str, torch.Tensor]) -> torch.Tensor:
        """The composite try-on of a collated batch, Bx3xHxW in [-1, 1]."""
        return self.model.try_on(batch)["result"]

    def stages(self, batch: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
        """Every intermediate (warp grid, warped garment and mask, rendered person, composition mask, result)."""
        return self.model.try_on(batch)


def build_model(config: dict) -> GmmTom:
    """The untrained networks model.json describes."""
    return GmmTom(GmmTomParams.model_validate(config["params"]), with_critic=False,
                  size_conditioning=is_size_aware(config))


def load_predictor(model_dir: Path | str, device: str = "cpu") -> GmmTomPredictor:
    """The predictor of `model_dir` (model.json + weights.safetensors written by the gmm_tom trainer)."""
    from components.train.families import read_model_config

    model_dir = Path(model_dir)
    config = read_model_config(model_dir)
    model = build_model(config)
    state = read_weights(model_dir)
    missing, unexpected = model.load_state_dict(state, strict=False)
    if missing or unexpected:
        raise ConfigError(f"{model_dir}: weights do not match the networks in model.json "
                          f"(missing {missing[:3]}, unexpected {unexpected[:3]})",
                          hint="retrain with `vton train` (train.model: gmm_tom); the folder is from another version")
    return GmmTomPredictor(config, model, device)
