"""params.yaml section for the validate (data-quality gate) step."""

from __future__ import annotations

from pydantic import Field

from components.config.base import Section


class ValidateParams(Section):
    """Thresholds of the data-quality gate."""

    max_quarantine_rate: float = Field(default=0.5, ge=0.0, le=1.0)
