"""`vton validate`: the data-quality gate (what the `validate` DVC stage runs)."""

from __future__ import annotations

from pathlib import Path
from typing import Optional

import typer

ProfileOption = typer.Option(None, "--profile", "-p", help="smoke | test | full (default: params.yaml's `profile`).")


def validate_command(
    manifest: Optional[Path] = typer.Option(
        None, "--manifest", "-m", help="Dataset directory or manifest.parquet to check (default: paths.augmented)."
    ),
    out: Optional[Path] = typer.Option(
        None, "--out", "-o", help="Where report.html and metrics.json go (default: <paths.reports>/validate)."
    ),
    profile: Optional[str] = ProfileOption,
    no_mlflow: bool = typer.Option(False, "--no-mlflow", help="Do not log the report and figures to MLflow."),
) -> None:
    """Check the dataset against the data-quality rules; exit 3 with a summary when an `error` rule fails."""
    from components.params import load_params
    from components.project import project_root
    from components.validate.stage import run

    result = run(load_params(profile=profile), project_root(), manifest=manifest, out=out, log_mlflow=not no_mlflow)
    typer.echo(result.summary())


def register(app: typer.Typer) -> None:
    """Add `vton validate` to the main CLI."""
    app.command("validate")(validate_command)
