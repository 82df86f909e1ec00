"""The params of the VGG19 perceptual and style terms, shared by the baseline families."""

from __future__ import annotations

from pydantic import Field, field_validator

from components.config.base import Section
from components.train.families.perceptual import DEFAULT_LAYERS, LAYER_NAMES, VGG19_WEIGHTS


class PerceptualParams(Section):
    """VGG19 perceptual (+ Gram style) loss: on when the weights are in the model store, else off and said so."""

    enabled: bool = True
    weights: str = VGG19_WEIGHTS  # model-store entry (components/models/catalog.yaml)
    layers: list[str] = Field(default_factory=lambda: list(DEFAULT_LAYERS))
    layer_weights: list[float] = Field(default_factory=lambda: [1 / 32, 1 / 16, 1 / 8, 1 / 4, 1.0])
    weight: float = Field(default=10.0, ge=0)  # of the perceptual term in the generator loss
    style_weight: float = Field(default=0.0, ge=0)  # of the Gram style term (0: off)

    @field_validator("layers")
    @classmethod
    def _known(cls, v: list[str]) -> list[str]:
        unknown = [n for n in v if n not in LAYER_NAMES]
        if unknown or not v:
            raise ValueError(f"perceptual.layers: unknown {unknown} (known: {list(LAYER_NAMES)})")
        return v
