"""params.yaml section for the train step."""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from components.config.base import Section


class TrainParams(Section):
    """Model size, LoRA and optimisation settings of the try-on trainer."""

    mode: Literal["lora", "attention"] = "lora"
    lora_rank: int = Field(default=4, gt=0)
    lora_alpha: float = Field(default=4.0, gt=0)
    max_steps: int = Field(default=20, gt=0)
    learning_rate: float = Field(default=1e-4, gt=0)
    batch_size: int = Field(default=1, gt=0)
