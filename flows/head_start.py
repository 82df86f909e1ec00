"""The retrain's first DVC process, started by `vton retrain` before it imports Prefect and MLflow.

Before its first stage a retrain waits about 5 s for Prefect's temporary server and the Prefect and MLflow
imports. The stages need neither until they log: so the CLI starts the first segment of the chain (one
`dvc repro --single-item S1 S2 ...` process, components/stage/chain.py) at once, and the flow's tasks take its
stages' outcomes as they come. The stages log into the retrain's MLflow run, which the flow opens a few seconds
later: they find its id in a file the flow writes (VTON_MLFLOW_RUN_ID_FILE), and wait for it only if they get
to log before it is there.

It starts only what the flow would run itself, the same way: the `--stage` list or flow.stages, all local (no
team DVC remote in the environment), data/raw present, every name a dvc.yaml stage, the same `--force`; and
only once the tracking store exists (a first retrain creates its SQLite tables before any stage opens it). The
flow checks that what it takes matches (else it stops it and starts its own); a retrain that ends before its
flow takes it (the server would not start, a bad param) stops it and tells the waiting stages why.

This module imports neither Prefect nor MLflow: it runs before them.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from components.stage.chain import StageChain
from components.stage.dvc import Dvc
from components.storage.dvc_remote import remote_from_env
from components.tracking.mlflow_run import RUN_ID_FILE_ENV, abandon_run_id, tracking_uri
from flows.retrain_record import LOGS_DIR, sqlite_path

# The stage after which an unforced retrain may have to train again before evaluating: DVC may skip train or
# restore its candidate from the cache while a reset registry no longer has the version it names
# (flows/retrain.py), so the stages after train get their own process, started once train's outcome is known.
TRAIN = "train"


def segments(chain: list[str], force: bool) -> list[list[str]]:
    """The DVC processes the local stages of `chain` run in, in order: one when forced (train always runs), else
    two, cut after train (the flow checks the candidate's registered version before the next stage starts)."""
    if not chain:
        return []
    if force or TRAIN not in chain[:-1]:
        return [list(chain)]
    cut = chain.index(TRAIN) + 1
    return [list(chain[:cut]), list(chain[cut:])]


def store_ready(uri: str) -> bool:
    """True unless the tracking store is a SQLite file that does not exist yet: the retrain creates its tables
    before any stage may open it (two processes migrating one new SQLite file collide)."""
    path = sqlite_path(uri)
    return path is None or (path.is_file() and path.stat().st_size > 0)


def stage_logs(logs_dir: Path, stages: list[str]) -> dict[str, Path]:
    """Each stage's log file of the latest retrain: `<reports>/logs/<stage>.log`."""
    return {stage: Path(logs_dir) / f"{stage}.log" for stage in stages}


def run_id_file(logs_dir: Path) -> Path:
    """Where this retrain's process writes its MLflow run id for the stages it started before the run was open."""
    return Path(logs_dir) / f".run-id.{os.getpid()}"


@dataclass
class HeadStart:
    """The first segment of a retrain's stages, running before the flow started."""

    root: Path
    stages: list[str]  # the whole chain the flow will run
    force: bool
    chain: StageChain  # the process running the first segment
    run_id_path: Path

    def matches(self, root: Path, stages: list[str], force: bool, first: list[str]) -> bool:
        """True when it runs what the flow would start itself: the same project, chain, force and first segment."""
        return (Path(root).resolve() == self.root and list(stages) == self.stages and force == self.force
                and self.chain.stages == list(first))

    def abandon(self, reason: str) -> None:
        """Stop it and tell its stages that no MLflow run comes (`reason`)."""
        abandon_run_id(self.run_id_path, reason)
        self.chain.stop()
        self.run_id_path.unlink(missing_ok=True)


_PENDING: HeadStart | None = None


def start(profile: str | None, stages: list[str] | None, force: bool) -> HeadStart | None:
    """Start the first segment of the chain `vton retrain` will run, when it can run before the flow; else None.

    Never raises: a problem here (a bad params.yaml, an unknown stage) is the flow's to report, in its own words."""
    global _PENDING
    from components.project import project_root, raw_data_present
    from flows.early_status import retrain_settings

    try:
        root = project_root().resolve()
        _, merged, chain = retrain_settings(root, profile, stages)
        paths = merged.get("paths") or {}
        dvc = Dvc(root)
        if not chain or not raw_data_present(root) or any(s not in dvc.stage_names() for s in chain):
            return None
        if remote_from_env() is not None or not store_ready(tracking_uri(root)):
            return None  # the flow sends the stages to the team's workers, or creates the store first
        first = segments(chain, force)[0]
        logs_dir = root / str(paths.get("reports", "reports")) / LOGS_DIR
        handoff = run_id_file(logs_dir)
        handoff.unlink(missing_ok=True)
        env = {RUN_ID_FILE_ENV: str(handoff), "MLFLOW_TRACKING_URI": tracking_uri(root)}
        process = dvc.start_chain(first, force=force, logs=stage_logs(logs_dir, first), extra_env=env)
    except Exception:  # noqa: BLE001 - an optimisation only; the flow starts its stages itself when this did not
        return None
    _PENDING = HeadStart(root, chain, force, process, handoff)
    return _PENDING


def take() -> HeadStart | None:
    """The head start `start` began in this process, once (None when there is none)."""
    global _PENDING
    pending, _PENDING = _PENDING, None
    return pending


def abandon(reason: str) -> None:
    """Stop a head start the flow never took (the retrain ended first), telling its stages `reason`."""
    pending = take()
    if pending is not None:
        pending.abandon(reason)
