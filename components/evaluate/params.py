"""params.yaml section for the evaluate step."""

from __future__ import annotations

from typing import Literal

from pydantic import Field, field_validator

from components.config.base import Section
from components.executors.params import RayExecutorParams


class EvaluateParams(Section):
    """Which test pairs to generate, at what size and with how many steps, and how the figures are computed."""

    max_pairs_per_category: int = Field(
        default=8, gt=0, description="Test persons per category (each gives a paired and an unpaired pair)."
    )
    width: int = Field(default=192, gt=0, description="Evaluation width: results and ground truth are resized to it.")
    height: int = Field(default=256, gt=0, description="Evaluation height.")
    num_inference_steps: int = Field(default=28, gt=0, description="Denoising steps per generated image.")
    seed: int = Field(default=0, description="Generation seed (the same for champion and challenger).")
    kid_subset_size: int = Field(default=50, gt=1, description="KID subset size (capped at the number of images).")
    colour_tolerance: float = Field(
        default=20.0, gt=0, description="Delta E (CIELAB) that counts as garment colour."
    )
    review_pairs_per_category: int = Field(default=2, gt=0, description="Rows per category in the review grid.")
    worst_n: int = Field(default=3, gt=0, description="Worst pairs per category and figure in the gallery.")
    evaluate_champion: bool = Field(
        default=True, description="Also generate with the current champion on the same pairs."
    )
    require_calibrated: bool = Field(default=False, description="Fail when the standard FID/LPIPS weights are absent.")
    executor: Literal["local", "ray"] = Field(
        default="local", description="local: generate here; ray: on Ray actors (the model loaded once per actor)."
    )
    shard_size: int = Field(default=4, gt=0, description="Pairs per Ray shard (executor: ray).")
    ray: RayExecutorParams = Field(default_factory=RayExecutorParams, description="Actors and resources for ray.")

    @field_validator("ray")
    @classmethod
    def _no_shared_cache(cls, value: RayExecutorParams) -> RayExecutorParams:
        if value.shared_cache is not None:
            raise ValueError("evaluate keeps no cache: evaluate.ray.shared_cache must be null")
        return value
