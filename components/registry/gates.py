"""The promotion gates as named, pure checks: each returns GateChecks saying what passed and why not.

Metric gates use MLflow's metric-threshold validation (`mlflow.validate_evaluation_results` with
`MetricThreshold`) for absolute thresholds and minimum improvements; `max_regression` (no worse than the
champion by more than X, 0 allowed) is checked here because MetricThreshold only takes positive changes.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from components.evaluate.metrics_spec import GREATER_IS_BETTER
from components.registry.params import MetricGate, PromoteParams

Figures = dict[str, dict[str, float]]  # scope (category | overall) -> figure -> value


@dataclass(frozen=True)
class GateCheck:
    """One gate's verdict."""

    gate: str
    passed: bool
    detail: str

    def __str__(self) -> str:
        return f"[{'pass' if self.passed else 'FAIL'}] {self.gate}: {self.detail}"


def _finite(v: float | None) -> bool:
    return v is not None and math.isfinite(v)


def _mlflow_check(name: str, value: float, baseline: float | None, gate: MetricGate, greater: bool) -> str | None:
    """Run MLflow's validation for one figure; the failure message, or None when it passes."""
    import logging

    import mlflow
    from mlflow.models import MetricThreshold
    from mlflow.models.evaluation import EvaluationResult
    from mlflow.models.evaluation.validation import ModelValidationFailedException

    min_change = gate.min_improvement if _finite(baseline) else None
    if gate.threshold is None and min_change is None:
        return None
    threshold = MetricThreshold(threshold=gate.threshold, min_absolute_change=min_change, greater_is_better=greater)
    candidate = EvaluationResult(metrics={name: value}, artifacts={})
    base = EvaluationResult(metrics={name: baseline}, artifacts={}) if min_change is not None else None
    logging.getLogger("mlflow.models.evaluation.validation").setLevel(logging.WARNING)
    try:
        mlflow.validate_evaluation_results({name: threshold}, candidate, base)
    except ModelValidationFailedException as exc:
        return str(exc.message if hasattr(exc, "message") else exc).strip()
    return None


def gates_for(scope: str, params: PromoteParams) -> dict[str, MetricGate]:
    """The gates that apply in `scope`: the global ones, overridden per figure by the category's."""
    return {**params.gates, **params.category_gates.get(scope, {})}


def metric_gate_checks(challenger: Figures, champion: Figures | None, params: PromoteParams) -> list[GateCheck]:
    """Thresholds and improvement/regression bounds for every gated figure in every scope."""
    checks: list[GateCheck] = []
    for scope in sorted(challenger):
        for figure, gate in sorted(gates_for(scope, params).items()):
            name = f"{scope}.{figure}"
            value = challenger[scope].get(figure)
            if not _finite(value):
                checks.append(GateCheck(f"metric {name}", False, "not computed for the challenger"))
                continue
            greater = GREATER_IS_BETTER[figure]
            base = (champion or {}).get(scope, {}).get(figure)
            failure = _mlflow_check(name, value, base, gate, greater)
            if failure is None and gate.max_regression is not None and _finite(base):
                regression = (base - value) if greater else (value - base)
                if regression > gate.max_regression + 1e-12:
                    failure = (f"{name} = {value:.4f} is worse than the champion's {base:.4f} by {regression:.4f} "
                               f"(allowed {gate.max_regression})")
            if failure is None:
                vs = f" (champion {base:.4f})" if _finite(base) else ""
                checks.append(GateCheck(f"metric {name}", True, f"{value:.4f}{vs}"))
            else:
                checks.append(GateCheck(f"metric {name}", False, failure))
    return checks


def min_pairs_checks(challenger: Figures, categories: list[str], minimum: int) -> list[GateCheck]:
    """Each category needs at least `minimum` evaluated paired pairs."""
    out = []
    for category in categories:
        n = int(challenger.get(category, {}).get("n_paired", 0) or 0)
        out.append(GateCheck(f"pairs {category}", n >= minimum, f"{n} evaluated (minimum {minimum})"))
    return out


def data_gate_check(passed: bool | None, source: str) -> GateCheck:
    """The validate stage's data gate must have passed (None: no record of it)."""
    if passed is None:
        return GateCheck("data gate", False, f"no data-gate result found ({source})")
    return GateCheck("data gate", passed, f"{'passed' if passed else 'failed'} ({source})")


def lineage_check(tags: dict[str, str], has_params_file: bool, required: list[str]) -> GateCheck:
    """The run must carry every required lineage tag (and params.yaml when listed)."""
    missing = [r for r in required if (not has_params_file if r == "params.yaml" else not tags.get(r))]
    if missing:
        return GateCheck("lineage", False, f"missing {missing} on the run")
    return GateCheck("lineage", True, ", ".join(f"{r}={tags.get(r, 'logged')}"[:60] for r in required))
