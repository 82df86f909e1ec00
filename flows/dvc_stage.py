"""One DVC stage as a Prefect task's unit of work: what happened to it (typed) and whether a failure is worth a retry.

Running the stage is the DVC adapter's job (components/stage/dvc.py); this module only adds what the flow needs.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from components.stage.dvc import DvcFailed, StageStatus

StageFailed = DvcFailed  # a stage's failure, carrying the stage's own message and where its log is


@dataclass
class StageResult:
    """What happened to one stage in one retrain."""

    stage: str
    status: StageStatus
    seconds: float
    message: str = ""
    log_path: Path | None = None


def is_transient_failure(task, task_run, state) -> bool:  # noqa: ANN001 - Prefect's retry_condition_fn signature
    """Retry only failures that may pass on a second try (a network blip), not bad params, bad data or a failed gate."""
    try:
        state.result()
    except StageFailed as exc:
        return exc.transient
    except Exception:  # noqa: BLE001 - unknown errors are worth one retry
        return True
    return False
