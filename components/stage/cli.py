"""`vton stage run NAME`: one DVC stage on a worker that exchanges data through the DVC remote."""

from __future__ import annotations

import os
from typing import Optional

import typer

stage_app = typer.Typer(help="Run single DVC stages on remote workers (pull inputs, repro, push).", no_args_is_help=True)


@stage_app.command("run")
def run_command(
    name: str = typer.Argument(..., help="The dvc.yaml stage to run, e.g. train."),
    remote: Optional[str] = typer.Option(None, "--remote", "-r", help="DVC remote (default: the configured one)."),
    run_id: Optional[str] = typer.Option(
        None, "--run-id", help="Retrain MLflow run that carries dvc.lock (default: $VTON_MLFLOW_RUN_ID; none: skip)."
    ),
    force: bool = typer.Option(False, "--force", help="Re-run even when DVC says nothing changed."),
    profile: Optional[str] = typer.Option(None, "--profile", "-p", help="smoke | test | full (default: params.yaml's)."),
) -> None:
    """Pull NAME's inputs from the DVC remote, `dvc repro --single-item NAME`, push its outputs."""
    from components.params import load_params
    from components.project import project_root, resolve
    from components.stage.runner import run_remote_stage
    from components.tracking.mlflow_run import RUN_ID_ENV

    root = project_root()
    log_path = resolve(load_params(profile=profile).paths.reports, root) / "logs" / f"{name}.log"
    result = run_remote_stage(root, name, remote, run_id or os.environ.get(RUN_ID_ENV), force, profile, log_path)
    typer.echo(result.summary())


def register(app: typer.Typer) -> None:
    """Add `vton stage` to the main CLI."""
    app.add_typer(stage_app, name="stage")
