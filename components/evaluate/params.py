"""params.yaml section for the evaluate step."""

from __future__ import annotations

from pydantic import Field

from components.config.base import Section


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
