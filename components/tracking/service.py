"""One typed tracking service: it owns the tracking URI and the MLflow client, and the retrain run's life cycle.

The retrain flow opens a run (lineage tags, params.yaml), the stages log into it without closing it, and the
flow ends it FINISHED or FAILED. A run a killed process left RUNNING is found by the next retrain (same host,
process gone) and ended KILLED, so the run list never shows a dead retrain as running or finished.
"""

from __future__ import annotations

import os
import socket
from dataclasses import dataclass, field
from functools import cached_property, lru_cache
from pathlib import Path
from typing import TYPE_CHECKING

from components.processes import process_alive
from components.tracking.contract import Tag, stage_status_tag
from components.tracking.mlflow_run import configure_mlflow, lineage_tags, tracking_uri

if TYPE_CHECKING:
    from mlflow import MlflowClient


@dataclass(frozen=True)
class OrphanedRun:
    """A retrain run left RUNNING by a process that no longer exists."""

    run_id: str
    pid: int | None
    prefect_flow_run_id: str | None


@dataclass(frozen=True)
class PreviousRetrain:
    """How the latest earlier retrain ended (its MLflow run status and the reason recorded with it)."""

    run_id: str
    status: str
    end_reason: str
    prefect_flow_run_id: str | None

    def report(self) -> str:
        """One line for the next retrain's log: what happened to this one."""
        why = f": {self.end_reason}" if self.end_reason else ""
        return f"the previous retrain (MLflow run {self.run_id}) ended {self.status}{why}"




@dataclass
class TrackingService:
    """MLflow for one project: the store, the client, and the retrain run's start, stage status and end."""

    root: Path
    uri: str = field(default="")

    def __post_init__(self) -> None:
        self.root = Path(self.root)
        self.uri = self.uri or tracking_uri(self.root)

    @cached_property
    def client(self) -> "MlflowClient":
        """The MLflow client of this store (the fluent API is pointed at it too, for the stages' helpers)."""
        import mlflow

        mlflow.set_tracking_uri(self.uri)
        return mlflow.MlflowClient(tracking_uri=self.uri)

    def experiment(self, name: str) -> str:
        """Make sure experiment `name` exists (artifacts under the project locally); its id."""
        self.client  # noqa: B018 - sets the fluent tracking URI first
        return configure_mlflow(name, self.root)

    def start_retrain(self, experiment_id: str, profile: str, params: object, flow_run_id: str | None) -> str:
        """Create the retrain's RUNNING run with lineage tags and params.yaml attached; its id."""
        tags = {
            **lineage_tags(profile, self.root, params),
            Tag.STAGE: "retrain",
            Tag.RETRAIN_PID: str(os.getpid()),
            Tag.RETRAIN_HOST: socket.gethostname(),
        }
        if flow_run_id:
            tags[Tag.PREFECT_FLOW_RUN_ID] = flow_run_id
        run = self.client.create_run(experiment_id, run_name=f"retrain-{profile}", tags=tags)
        run_id = run.info.run_id
        self.client.log_artifact(run_id, str(self.root / "params.yaml"))
        self.log_lock(run_id)
        return run_id

    def log_lock(self, run_id: str) -> None:
        """Attach dvc.lock (the lineage of every stage) to the run, at the top and where remote workers read it."""
        lock = self.root / "dvc.lock"
        if lock.is_file():
            self.client.log_artifact(run_id, str(lock))

    def set_stage_status(self, run_id: str, stage: str, status: str) -> None:
        """Record one stage's status on the retrain run."""
        self.client.set_tag(run_id, stage_status_tag(stage), status)

    def end_retrain(self, run_id: str, status: str, tags: dict[str, str]) -> None:
        """Set the final tags, attach the final dvc.lock and end the run with `status` (FINISHED | FAILED | KILLED)."""
        for key, value in tags.items():
            self.client.set_tag(run_id, key, value)
        self.log_lock(run_id)
        self.client.set_terminated(run_id, status=status)

    def orphaned_retrains(self, experiment_id: str) -> list[OrphanedRun]:
        """Retrain runs still RUNNING whose process (on this host) is gone."""
        from mlflow.entities import ViewType

        runs = self.client.search_runs(
            [experiment_id], filter_string=f"tags.`{Tag.STAGE}` = 'retrain' and attributes.status = 'RUNNING'",
            run_view_type=ViewType.ACTIVE_ONLY, max_results=200,
        )
        host = socket.gethostname()
        out = []
        for run in runs:
            tags = run.data.tags
            pid = int(tags[Tag.RETRAIN_PID]) if tags.get(Tag.RETRAIN_PID, "").isdigit() else None
            if tags.get(Tag.RETRAIN_HOST) != host or pid is None:
                continue  # another machine's retrain: its liveness cannot be checked from here
            if pid == os.getpid() or process_alive(pid):
                continue
            out.append(OrphanedRun(run.info.run_id, pid, tags.get(Tag.PREFECT_FLOW_RUN_ID)))
        return out

    def previous_retrain(self, experiment_id: str) -> PreviousRetrain | None:
        """The latest retrain run in the experiment (before this one opens its run), or None."""
        from mlflow.entities import ViewType

        runs = self.client.search_runs(
            [experiment_id], filter_string=f"tags.`{Tag.STAGE}` = 'retrain'", run_view_type=ViewType.ACTIVE_ONLY,
            max_results=1, order_by=["attributes.start_time DESC"],
        )
        if not runs:
            return None
        run = runs[0]
        return PreviousRetrain(run.info.run_id, run.info.status, run.data.tags.get(Tag.END_REASON, ""),
                               run.data.tags.get(Tag.PREFECT_FLOW_RUN_ID))

    def end_orphans(self, experiment_id: str) -> list[OrphanedRun]:
        """End every orphaned retrain run KILLED (with the reason); returns them (their Prefect runs are next)."""
        orphans = self.orphaned_retrains(experiment_id)
        for orphan in orphans:
            self.client.set_tag(orphan.run_id, Tag.END_REASON,
                                f"process {orphan.pid} ended without closing the run; marked by a later retrain")
            self.client.set_terminated(orphan.run_id, status="KILLED")
        return orphans


@lru_cache(maxsize=8)
def _shared(root: Path, uri: str) -> TrackingService:
    return TrackingService(root, uri)


def shared_service(root: Path | None = None) -> TrackingService:
    """This process's one tracking service (one MLflow client, one SQLite engine) for `root`'s store."""
    from components.project import project_root

    base = Path(root) if root is not None else project_root()
    return _shared(base, tracking_uri(base))


def warm_up(root: Path | None = None) -> None:
    """Import MLflow and open the store ahead of its first use (at start-up, while the Prefect server starts); never
    raises."""
    try:
        shared_service(root).client.search_experiments(max_results=1)
    except Exception:  # noqa: BLE001 - a warm-up only; the real first use reports real problems
        pass
