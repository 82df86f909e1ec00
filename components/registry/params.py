"""params.yaml sections for promotion (registry gates) and scheduled retraining."""

from __future__ import annotations

from pydantic import Field, model_validator

from components.config.base import Section
from components.evaluate.metrics_spec import GREATER_IS_BETTER
from components.manifest.names import CATEGORIES
from components.tracking.contract import PARAMS_ARTIFACT, Tag


class MetricGate(Section):
    """Bounds on one evaluation figure, applied in every category and overall.

    threshold: absolute bound (a maximum for lower-is-better figures, a minimum otherwise);
    min_improvement: the challenger must beat the champion by at least this much (MLflow MetricThreshold);
    max_regression: the challenger may be worse than the champion by at most this much (0 = no regression).
    """

    threshold: float | None = None
    min_improvement: float | None = Field(default=None, gt=0)
    max_regression: float | None = Field(default=None, ge=0)


class PromoteParams(Section):
    """Gates a challenger must pass before it becomes champion."""

    require_approval: bool = Field(default=False, description="A passing challenger waits for `vton registry approve`.")
    min_pairs_per_category: int = Field(default=1, ge=0, description="Evaluated paired pairs needed per category.")
    required_categories: list[str] = Field(
        default_factory=list, description="Categories that must be in the evaluation (absent ones fail the pairs gate)."
    )
    require_data_gate: bool = Field(default=True, description="The validate stage's data gate must have passed.")
    required_lineage: list[str] = Field(
        default_factory=lambda: [Tag.DATA_VERSION, Tag.CODE_VERSION, PARAMS_ARTIFACT],
        description="Run tags that must be present; `params.yaml` means the params file is logged on the run.",
    )
    gates: dict[str, MetricGate] = Field(default_factory=dict, description="Figure -> gate, for every scope.")
    category_gates: dict[str, dict[str, MetricGate]] = Field(
        default_factory=dict, description="Per-category overrides: category -> figure -> gate."
    )
    lock_timeout_s: float = Field(default=60.0, gt=0, description="How long to wait for the registry lock.")

    @model_validator(mode="after")
    def _known_figures(self) -> "PromoteParams":
        names = set(self.gates) | {f for per in self.category_gates.values() for f in per}
        unknown = sorted(names - set(GREATER_IS_BETTER))
        if unknown:
            raise ValueError(f"unknown figures {unknown}; known: {sorted(GREATER_IS_BETTER)}")
        # A misspelt category would silently switch its gate off: only the manifest's categories are allowed.
        for where, given in (("required_categories", self.required_categories),
                             ("category_gates", list(self.category_gates))):
            wrong = sorted(set(given) - set(CATEGORIES))
            if wrong:
                raise ValueError(f"{where}: unknown categories {wrong}; known: {list(CATEGORIES)}")
        return self


class ScheduleParams(Section):
    """The retrain deployment's schedule."""

    cron: str = Field(default="0 3 * * 1", description="When the retrain runs (default: Mondays 03:00).")
    timezone: str = "UTC"
    deployment_name: str = Field(default="weekly-retrain")
    work_pool: str = Field(
        default="vton-process", description="Prefect work pool (created as a process pool if absent)."
    )
    profile: str | None = Field(default=None, description="Profile of scheduled runs (default: the active one).")
    refresh_data: bool = Field(default=True, description="Pull the data version data.dvc names before each run.")
    concurrency_limit: int = Field(default=1, ge=1, description="Retrains allowed at once.")
