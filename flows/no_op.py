"""`vton retrain` on an unchanged pipeline, answered by DVC alone: no Prefect server, no Prefect or MLflow run.

A no-op retrain (the always-changed stages, like scrape, find nothing new and `dvc status` says every later stage
is up to date) runs nothing and registers nothing. Opening a Prefect flow run and an MLflow run only to say so
costs more than the pipeline's own check: Prefect's server, importing Prefect and MLflow, opening the store
(benchmarks/retrain.py). So `vton retrain` first asks DVC what `dvc repro` would ask, and when the answer is
"nothing to do" it prints so and exits.

It answers only when the last retrain finished and nothing has written to the tracking store since
(flows/retrain_record.py). After a killed or failed retrain, a reset registry, a promotion by hand or a server
store, and on any surprise here, the retrain takes the usual path, which reports those. Scheduled runs (Prefect
deployments) and `vton retrain --record` always take it.

This module imports neither Prefect nor MLflow: it runs before them.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from components.project import project_root, raw_data_present
from components.stage.dvc import Dvc, StageStatus
from components.tracking.mlflow_run import tracking_uri
from flows import early_status
from flows.retrain_record import LOGS_DIR, RetrainRecord, read_record, restamp_store, store_identity


@dataclass
class NoOp:
    """An unchanged pipeline, as DVC reported it, and the retrain that last recorded one."""

    profile: str
    stages: list[tuple[str, StageStatus]]
    last: RetrainRecord
    logs_dir: Path

    def stage_line(self) -> str:
        """`stage=status, ...` as a recorded retrain's summary shows it."""
        return ", ".join(f"{stage}={status.value}" for stage, status in self.stages)

    def where_to_look(self) -> str:
        """What happened, what was not recorded, and where the last recorded retrain is."""
        checked = ", ".join(stage for stage, status in self.stages if status is not StageStatus.SKIPPED) or "none"
        return "\n".join([
            f"retrain ({self.profile}) no-op: {self.stage_line()}",
            f"  no-op:          {checked} found nothing new and `dvc status` says every later stage is up to date:",
            "                  nothing ran after them, nothing registered",
            "  recorded:       no Prefect or MLflow retrain run for a no-op (`vton retrain --record` opens them)",
            f"  last retrain:   {self.last.line()}",
            *([f"                  Prefect run {prefect}"] if (prefect := self.last.prefect_flow_run_id) else []),
            f"  stage logs:     {self.logs_dir}",
        ])


def eligible_record(logs_dir: Path, uri: str) -> RetrainRecord | None:
    """The last retrain's record when a no-op may go unrecorded: it FINISHED, in this tracking store (a local
    SQLite file), and nothing has written to that store since; else None."""
    last = read_record(logs_dir)
    if last is None or last.status != "FINISHED" or last.tracking_uri != uri:
        return None
    now = store_identity(uri)
    return last if now is not None and now == last.store else None


def answer_by_dvc(profile: str | None, stages: list[str] | None, root: Path | None = None) -> NoOp | None:
    """The no-op, when DVC says the retrain has nothing to do and it may go unrecorded; else None (the usual path).

    Runs the always-changed stages (`dvc repro`, their output live and in their logs, as the flow would) only
    after `dvc status` said every later stage is up to date. Never raises for a problem of its own: the usual
    path reports those with its own messages."""
    try:
        return _answer(Path(root or project_root()).resolve(), profile, stages)
    except Exception:  # noqa: BLE001 - an optimisation only
        return None


def _answer(root: Path, profile: str | None, stages: list[str] | None) -> NoOp | None:
    name, merged, chain = early_status.retrain_settings(root, profile, stages)
    logs = root / str((merged.get("paths") or {}).get("reports", "reports")) / LOGS_DIR
    last = eligible_record(logs, tracking_uri(root))
    if last is None or not raw_data_present(root):
        return None
    pending = early_status.start(root, chain)
    if pending is None:
        return None
    try:
        pending.wait()  # whatever happens next runs DVC, one command at a time
        first = chain[:len(chain) - len(pending.targets)]
        if any(stage not in pending.volatile for stage in first):
            return None  # a stage before an always-changed one: its status was not asked
        if pending.pending.result() != {}:  # DVC failing here raises: answer_by_dvc declines
            return None
    finally:
        pending.wait()
    dvc = Dvc(root)
    checked = [(stage, dvc.repro(stage, log_path=logs / f"{stage}.log").status) for stage in first]
    if pending.up_to_date(root, pending.targets) != set(pending.targets):
        return None  # they found something new: the flow runs them again, inside its runs
    # Their own MLflow runs wrote to the store (as under `dvc repro`); a write by anyone else in these seconds is
    # not told apart from theirs.
    restamp_store(logs, last)
    return NoOp(name, [*checked, *((stage, StageStatus.SKIPPED) for stage in pending.targets)], last, logs)
