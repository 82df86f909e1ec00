"""Prefect's record of runs a killed process left behind: set them Crashed, as Prefect itself would have."""

from __future__ import annotations

import logging

log = logging.getLogger(__name__)


def crash_flow_run(flow_run_id: str, message: str) -> bool:
    """Set a flow run still RUNNING (and its RUNNING task runs) to Crashed; False when it is not running or unknown."""
    from prefect.client.orchestration import get_client
    from prefect.client.schemas.filters import (
        FlowRunFilter,
        FlowRunFilterId,
        TaskRunFilter,
        TaskRunFilterState,
        TaskRunFilterStateType,
    )
    from prefect.client.schemas.objects import StateType
    from prefect.exceptions import ObjectNotFound
    from prefect.states import Crashed

    with get_client(sync_client=True) as client:
        try:
            run = client.read_flow_run(flow_run_id)
        except ObjectNotFound:
            return False
        if run.state is None or not run.state.is_running():
            return False
        tasks = client.read_task_runs(
            flow_run_filter=FlowRunFilter(id=FlowRunFilterId(any_=[run.id])),
            task_run_filter=TaskRunFilter(
                state=TaskRunFilterState(type=TaskRunFilterStateType(any_=[StateType.RUNNING]))
            ),
        )
        for task_run in tasks:
            client.set_task_run_state(task_run.id, Crashed(message=message), force=True)
        client.set_flow_run_state(run.id, Crashed(message=message), force=True)
    log.info("flow run %s marked Crashed: %s", flow_run_id, message)
    return True
