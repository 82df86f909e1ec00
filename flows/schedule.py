"""The scheduled retrain: a Prefect deployment of the retrain flow with a cron schedule and concurrency one.

Works against whatever Prefect API PREFECT_API_URL names (a local `prefect server start`, a shared server,
Prefect Cloud). The deployment runs on a process work pool (created if missing); a worker started with
`prefect worker start --pool <pool>` executes the scheduled runs in the project directory.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from components.params import Params

ENTRYPOINT = "flows/retrain.py:retrain_flow"


@dataclass
class ScheduledDeployment:
    """What `vton schedule` created."""

    deployment_id: str
    name: str  # retrain/<deployment name>
    work_pool: str
    cron: str
    timezone: str
    parameters: dict[str, Any]
    api_url: str | None

    def describe(self) -> str:
        """How to see and run it."""
        return "\n".join([
            f"deployment {self.name} ({self.deployment_id}) scheduled '{self.cron}' ({self.timezone}), "
            f"concurrency 1, on work pool {self.work_pool}",
            f"  parameters: {self.parameters}",
            f"  Prefect API: {self.api_url or 'temporary local server (set PREFECT_API_URL for a real one)'}",
            f"  run the schedule: prefect worker start --pool {self.work_pool}",
            f"  run it now:       prefect deployment run '{self.name}'",
        ])


def ensure_process_pool(name: str) -> None:
    """Create the process work pool `name` unless it exists."""
    from prefect.client.orchestration import get_client
    from prefect.client.schemas.actions import WorkPoolCreate
    from prefect.exceptions import ObjectAlreadyExists, ObjectNotFound

    with get_client(sync_client=True) as client:
        try:
            client.read_work_pool(name)
        except ObjectNotFound:
            try:
                client.create_work_pool(WorkPoolCreate(name=name, type="process"))
            except ObjectAlreadyExists:
                pass


def deployment_parameters(params: Params, root: Path, stages: list[str] | None = None) -> dict[str, Any]:
    """The retrain flow's parameters for scheduled runs."""
    settings = params.schedule
    out: dict[str, Any] = {
        "profile": settings.profile or params.profile,
        "root": str(root),
        "refresh_data": settings.refresh_data,
    }
    if stages:
        out["stages"] = list(stages)
    return out


def deploy_retrain(
    params: Params,
    root: Path,
    cron: str | None = None,
    work_pool: str | None = None,
    stages: list[str] | None = None,
    paused: bool = False,
) -> ScheduledDeployment:
    """Create or update the retrain deployment (cron from params.schedule unless given)."""
    from prefect.schedules import Cron
    from prefect.settings import PREFECT_API_URL

    from flows.retrain import retrain_flow

    settings = params.schedule
    pool = work_pool or settings.work_pool
    cron = cron or settings.cron
    ensure_process_pool(pool)
    parameters = deployment_parameters(params, root, stages)
    source_flow = retrain_flow.from_source(source=str(root), entrypoint=ENTRYPOINT)
    deployment_id = source_flow.deploy(
        name=settings.deployment_name,
        work_pool_name=pool,
        schedule=Cron(cron, timezone=settings.timezone),
        parameters=parameters,
        concurrency_limit=settings.concurrency_limit,
        paused=paused,
        build=False,
        push=False,
        description="Scheduled retraining: DVC stages, evaluation, gated promotion (vton schedule).",
        tags=["vton", f"profile:{parameters['profile']}"],
        print_next_steps=False,
        ignore_warnings=True,
    )
    return ScheduledDeployment(str(deployment_id), f"retrain/{settings.deployment_name}", pool, cron,
                               settings.timezone, parameters, PREFECT_API_URL.value())


def schedule_run_now(deployment_id: str) -> str:
    """Put a Scheduled run of the deployment due now (what the scheduler does at the cron time); returns its id."""
    from datetime import datetime, timezone

    from prefect.client.orchestration import get_client
    from prefect.states import Scheduled

    with get_client(sync_client=True) as client:
        run = client.create_flow_run_from_deployment(
            deployment_id, state=Scheduled(scheduled_time=datetime.now(timezone.utc))
        )
    return str(run.id)
