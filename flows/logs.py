"""Prefect logging as people read it: stage output line by line in the task log, user errors without tracebacks.

A stage's raw output already streams to the terminal (progress bars intact), so its lines go to the Prefect
API only, not a second time to the console. A failure the user can fix (a VtonError: bad params, bad data, a
failed gate) is stated once by the CLI; Prefect's own records of it keep one line and lose the traceback.
"""

from __future__ import annotations

import logging
from collections.abc import Callable

from components.errors import VtonError

STAGE_OUTPUT_LOGGER = "vton_stage_output"


def stage_output_logger() -> Callable[[str], None]:
    """A line callback that sends each line to the current Prefect task run's log (API only, never the console)."""
    from prefect import get_run_logger
    from prefect.logging.handlers import APILogHandler

    logger = logging.getLogger(STAGE_OUTPUT_LOGGER)
    if not any(isinstance(h, APILogHandler) for h in logger.handlers):
        logger.addHandler(APILogHandler())
        logger.propagate = False
        logger.setLevel(logging.INFO)
    adapter = logging.LoggerAdapter(logger, dict(get_run_logger().extra))

    def emit(line: str) -> None:
        adapter.info(line)

    return emit


def _user_error_names() -> set[str]:
    names, todo = set(), [VtonError]
    while todo:
        cls = todo.pop()
        names.add(cls.__name__)
        todo.extend(cls.__subclasses__())
    return names


class _UserErrorStatedOnce(logging.Filter):
    """Keep Prefect's records of a user error to one line without a traceback (the CLI prints the error itself)."""

    def filter(self, record: logging.LogRecord) -> bool:
        exc = record.exc_info[1] if record.exc_info else None
        if isinstance(exc, VtonError):
            # "Encountered exception" / "Task run failed with exception": the traceback of a message already shown.
            record.exc_info = None
            record.exc_text = None
            record.msg = f"failed: {type(exc).__name__} (message below)"
            record.args = ()
            return True
        message = record.getMessage()
        if message.startswith("Finished in state Failed(") and any(n in message for n in _user_error_names()):
            record.msg = "Finished in state Failed (message below)"
            record.args = ()
        return True


_FILTER = _UserErrorStatedOnce()


def quiet_user_error_tracebacks() -> None:
    """Install the filter on Prefect's flow- and task-run loggers (idempotent)."""
    for name in ("prefect.flow_runs", "prefect.task_runs", "prefect.engine"):
        logger = logging.getLogger(name)
        if _FILTER not in logger.filters:
            logger.addFilter(_FILTER)
