"""params.yaml section for the evaluate step."""

from __future__ import annotations

from pydantic import Field

from components.config.base import Section


class EvaluateParams(Section):
    """How many pairs to evaluate and which metrics to compute."""

    max_pairs_per_category: int = Field(default=8, gt=0)
