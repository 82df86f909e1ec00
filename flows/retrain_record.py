"""The latest retrain's outcome in a small JSON file beside the stage logs, readable without Prefect or MLflow.

The flow writes it when its MLflow run opens (RUNNING) and again when the run ends (FINISHED, FAILED or KILLED),
with the identity of the SQLite tracking store at that moment. `vton retrain` reads it before importing anything
heavy, to decide whether an unchanged pipeline may be answered by DVC alone (flows/no_op.py): only when the last
retrain finished and nothing has written to the store since (a reset registry, a run killed by SIGKILL, a
promotion by hand all show here).

This module imports neither Prefect nor MLflow.
"""

from __future__ import annotations

import json
import os
import time
from dataclasses import asdict, dataclass, fields
from pathlib import Path
from urllib.parse import unquote, urlparse

LOGS_DIR = "logs"  # under paths.reports: one <stage>.log per stage of the latest retrain, and this record
RECORD_NAME = "retrain.json"


@dataclass
class RetrainRecord:
    """What the latest retrain was and how it ended, as the flow last wrote it."""

    status: str  # RUNNING, FINISHED, FAILED or KILLED: the MLflow run's status
    profile: str
    mlflow_run_id: str
    mlflow_experiment_id: str
    tracking_uri: str
    prefect_flow_run_id: str | None
    pid: int
    written_at: float  # seconds since the epoch
    store: list[int] | None  # the SQLite file's (device, inode, size, mtime ns) when written; None for a server

    def line(self) -> str:
        """One line: how and when it ended, and its MLflow run."""
        when = time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(self.written_at))
        return f"{self.status} at {when}, MLflow run {self.mlflow_run_id} (experiment {self.mlflow_experiment_id})"


def sqlite_path(uri: str) -> Path | None:
    """The file a `sqlite:///` tracking URI names; None for any other store (a server, a database elsewhere)."""
    parsed = urlparse(uri)
    if parsed.scheme != "sqlite" or not parsed.path or parsed.path == "/:memory:":
        return None
    return Path(unquote(parsed.path))


def store_identity(uri: str) -> list[int] | None:
    """(device, inode, size, mtime ns) of the SQLite store `uri` names, or None (no such file, not SQLite).

    Any write through MLflow moves size or mtime; a deleted and recreated store has another inode."""
    path = sqlite_path(uri)
    if path is None:
        return None
    try:
        st = path.stat()
    except OSError:
        return None
    return [st.st_dev, st.st_ino, st.st_size, st.st_mtime_ns]


def record_path(logs_dir: Path) -> Path:
    """Where the record lives for a project whose stage logs are in `logs_dir`."""
    return Path(logs_dir) / RECORD_NAME


def write_record(logs_dir: Path, status: str, profile: str, run_id: str, experiment_id: str, tracking_uri: str,
                 prefect_flow_run_id: str | None) -> RetrainRecord:
    """Record the retrain's current state (atomically: a reader sees the old record or the new one)."""
    record = RetrainRecord(status, profile, run_id, experiment_id, tracking_uri, prefect_flow_run_id, os.getpid(),
                           time.time(), store_identity(tracking_uri))
    _save(logs_dir, record)
    return record


def _save(logs_dir: Path, record: RetrainRecord) -> None:
    path = record_path(logs_dir)
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_name(f".{path.name}.{os.getpid()}")
    partial.write_text(json.dumps(asdict(record), indent=1) + "\n", encoding="utf-8")
    os.replace(partial, path)


def read_record(logs_dir: Path) -> RetrainRecord | None:
    """The record, or None when there is none or it cannot be read (then nothing is assumed about the last run)."""
    try:
        data = json.loads(record_path(logs_dir).read_text(encoding="utf-8"))
        known = {f.name for f in fields(RetrainRecord)}
        if not isinstance(data, dict) or set(data) != known:
            return None
        return RetrainRecord(**data)
    except (OSError, ValueError, TypeError):
        return None


def restamp_store(logs_dir: Path, record: RetrainRecord) -> None:
    """Keep `record` as it is but with the store's identity now: after a write this process knows to be harmless
    (a no-op's always-changed stages logging their own runs), so the next no-op is not refused for it."""
    record.store = store_identity(record.tracking_uri)
    _save(logs_dir, record)
