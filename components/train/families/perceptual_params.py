"""The params of the VGG19 perceptual and style terms, shared by the baseline families."""

from __future__ import annotations

from pydantic import Field, field_validator

from components.config.base import Section

VGG19_WEIGHTS = "vgg19-dcbb9e9d"  # components/models/catalog.yaml
# torchvision's VGG19 `features`: conv widths per block, "M" = max-pool (indices follow torchvision's).
VGG19_CFG: tuple = (64, 64, "M", 128, 128, "M", 256, 256, 256, 256, "M", 512, 512, 512, 512, "M",
                     512, 512, 512, 512, "M")
LAYER_NAMES: tuple[str, ...] = (
    "relu1_1", "relu1_2", "relu2_1", "relu2_2", "relu3_1", "relu3_2", "relu3_3", "relu3_4",
    "relu4_1", "relu4_2", "relu4_3", "relu4_4", "relu5_1", "relu5_2", "relu5_3", "relu5_4",
)
DEFAULT_LAYERS: tuple[str, ...] = ("relu1_2", "relu2_2", "relu3_2", "relu4_2", "relu5_2")


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
