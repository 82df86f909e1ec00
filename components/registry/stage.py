"""The promote step (`run`, what `vton registry promote` runs; the retrain flow's last task): the run's model
version becomes `challenger`, and `champion` when every gate passes (components/registry/promotion.py)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from components.params import Params
from components.registry.promotion import Decision, promote_run


@dataclass
class PromoteResult:
    """The registry's decision for one evaluated candidate."""

    decision: Decision

    @property
    def exit_code(self) -> int:
        """0 when promoted, kept or pending review; 3 when a gate refused."""
        return self.decision.exit_code

    def summary(self) -> str:
        """One line per gate checked, then the decision (the last line: what the retrain flow reports)."""
        return "\n".join([*(str(check) for check in self.decision.checks), self.decision.message])


def run(params: Params, root: Path, run_id: str) -> PromoteResult:
    """Promote the model version the MLflow run `run_id` registered, through params.promote's gates."""
    import mlflow

    from components.tracking.mlflow_run import configure_mlflow

    configure_mlflow(params.project.mlflow_experiment, root)
    decision = promote_run(mlflow.MlflowClient(), params.project.registered_model, run_id, params.promote, root,
                           paths=params.paths)
    return PromoteResult(decision)
