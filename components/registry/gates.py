"""The promotion gates as named, pure checks: each returns GateChecks saying what passed and why not.

Metric gates use MLflow's metric-threshold validation (`mlflow.validate_evaluation_results` with
`MetricThreshold`) for absolute thresholds and minimum improvements; `max_regression` (no worse than the
champion by more than X, 0 allowed) is checked here because MetricThreshold only takes positive changes.

Calibration: feature-based figures (LPIPS, FID, KID) are only compared with the champion's when both were
computed with the same networks. `vton evaluate` re-scores the champion in the same run with the candidate's
networks and tags both calibrations; a gate that would compare figures of different (or unrecorded-as-absent)
calibration fails and says so, instead of comparing them. Figures on pixels (SSIM, PSNR, IoU, GFD) need no
calibration.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from components.evaluate.metrics_spec import (
    FEATURE_BASED,
    GREATER_IS_BETTER,
    GROUND_TRUTH,
    SIZE_ACCURACY,
    TAG_CALIBRATION,
    TAG_CHAMPION_CALIBRATION,
    UNCALIBRATED,
)
from components.manifest.schema import CATEGORIES
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


@dataclass(frozen=True)
class FigureCalibration:
    """How a run's feature-based figures were computed: the challenger's and the champion's calibration.

    `champion` None: the run predates the tag (its evaluate scored both with the same networks by construction);
    "none": the run's last evaluation scored no champion, so any champion figures on it are left from another.
    """

    challenger: str | None
    champion: str | None

    @classmethod
    def from_tags(cls, tags: dict[str, str]) -> "FigureCalibration":
        """Read both calibrations from an evaluated run's tags."""
        return cls(tags.get(TAG_CALIBRATION), tags.get(TAG_CHAMPION_CALIBRATION))

    @property
    def comparable(self) -> bool:
        """True when the champion's feature-based figures were computed like the challenger's."""
        return self.champion is None or self.champion == self.challenger


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


def metric_gate_checks(
    challenger: Figures, champion: Figures | None, params: PromoteParams, calibration: FigureCalibration | None = None
) -> list[GateCheck]:
    """Thresholds and improvement/regression bounds for every gated figure in every scope.

    With `calibration`, a feature-based figure is compared with the champion's only when both share it.
    """
    calibration = calibration or FigureCalibration(None, None)
    checks: list[GateCheck] = []
    for scope in sorted(challenger):
        for figure, gate in sorted(gates_for(scope, params).items()):
            name = f"{scope}.{figure}"
            value = challenger[scope].get(figure)
            if not _finite(value) and figure in GROUND_TRUTH and _without_ground_truth(challenger[scope], scope, params):
                checks.append(GateCheck(f"metric {name}", True, (
                    "not gated: no test pair of this category has a ground-truth photo (all unpaired); "
                    "list it in promote.required_categories to require one")))
                continue
            if not _finite(value) and figure == SIZE_ACCURACY and not int(challenger[scope].get("n_size") or 0):
                checks.append(GateCheck(f"metric {name}", False, (
                    "not computed: no evaluated pair of this scope has a requested fit label (its test rows have no "
                    "fit_width_ratio); annotate them with pose and parse, or drop the size_accuracy gate")))
                continue
            if not _finite(value):
                checks.append(GateCheck(f"metric {name}", False, "not computed for the challenger"))
                continue
            greater = GREATER_IS_BETTER[figure]
            base = (champion or {}).get(scope, {}).get(figure)
            relative = gate.min_improvement is not None or gate.max_regression is not None
            feature = figure in FEATURE_BASED
            if feature and relative and _finite(base) and not calibration.comparable:
                checks.append(GateCheck(f"metric {name}", False, (
                    f"not compared: the champion's {figure} is {calibration.champion}, the challenger's "
                    f"{calibration.challenger}; re-run `vton evaluate` (it re-scores the champion with the same "
                    f"networks on the same pairs)")))
                continue
            failure = _mlflow_check(name, value, base, gate, greater)
            if failure is None and gate.max_regression is not None and _finite(base):
                regression = (base - value) if greater else (value - base)
                if regression > gate.max_regression + 1e-12:
                    failure = (f"{name} = {value:.4f} is worse than the champion's {base:.4f} by {regression:.4f} "
                               f"(allowed {gate.max_regression})")
            if failure is None:
                vs = f" (champion {base:.4f}, re-evaluated in this run)" if _finite(base) and relative else ""
                if feature and calibration.challenger == UNCALIBRATED:
                    vs += "; uncalibrated figure" + (" against an absolute threshold" if gate.threshold is not None
                                                     else "")
                checks.append(GateCheck(f"metric {name}", True, f"{value:.4f}{vs}"))
            else:
                checks.append(GateCheck(f"metric {name}", False, failure))
    return checks


def _without_ground_truth(figures: dict[str, float], scope: str, params: PromoteParams) -> bool:
    """A category evaluated on unpaired pairs only (its test photos show other garments) that the policy does not
    require: its ground-truth figures cannot exist, and its unpaired figures are still gated."""
    paired = int(figures.get("n_paired", 0) or 0)
    unpaired = int(figures.get("n_unpaired", 0) or 0)
    return paired == 0 and unpaired > 0 and scope in CATEGORIES and scope not in params.required_categories


def min_pairs_checks(challenger: Figures, categories: list[str], minimum: int,
                     params: PromoteParams | None = None) -> list[GateCheck]:
    """Each category needs at least `minimum` evaluated paired pairs; one evaluated on unpaired pairs only passes
    with that said, unless `params.required_categories` names it."""
    out = []
    for category in categories:
        figures = challenger.get(category, {})
        n = int(figures.get("n_paired", 0) or 0)
        if n < minimum and params is not None and _without_ground_truth(figures, category, params):
            out.append(GateCheck(f"pairs {category}", True, (
                f"{n} paired (no ground truth in this category's test split), "
                f"{int(figures.get('n_unpaired', 0) or 0)} unpaired evaluated")))
            continue
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
