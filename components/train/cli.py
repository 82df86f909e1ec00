"""`vton train`: train the try-on model for the active profile (what the DVC `train` stage runs)."""

from __future__ import annotations

from typing import Optional

import typer

ProfileOption = typer.Option(None, "--profile", "-p", help="smoke | test | full (default: params.yaml's `profile`).")


def train_command(
    profile: Optional[str] = ProfileOption,
    resume: bool = typer.Option(
        False, "--resume", help="Continue from the latest checkpoint of this run (same data, settings and "
        "project.seed), if any; without it the run starts afresh and its earlier checkpoints are removed."
    ),
    max_steps: Optional[int] = typer.Option(None, "--max-steps", help="Override train.max_steps for this run."),
    model: Optional[str] = typer.Option(
        None, "--model", help="Override train.model: catvton_flux | unet_gan | gmm_tom (the model family)."
    ),
    no_register: bool = typer.Option(
        False, "--no-register", help="Do not log the pyfunc model or register a version (local experiments)."
    ),
) -> None:
    """Train the try-on model family train.model names; writes models/candidate and reports/train."""
    from components.params import load_params
    from components.errors import ConfigError
    from components.project import project_root
    from components.train.stage import run

    params = load_params(profile=profile)
    if max_steps is not None:
        if max_steps <= 0:
            raise ConfigError(f"--max-steps must be > 0, got {max_steps}")
        params = params.model_copy(update={"train": params.train.model_copy(update={"max_steps": max_steps})})
    if model is not None:
        from components.train.params import TrainParams

        try:
            train = TrainParams.model_validate({**params.train.model_dump(), "model": model})
        except ValueError:
            from components.train.families import FAMILIES

            raise ConfigError(f"--model {model!r} is not a model family", hint=f"use one of {sorted(FAMILIES)}") from None
        params = params.model_copy(update={"train": train})
    typer.echo(run(params, project_root(), resume=resume, register=not no_register).summary())


def register(app: typer.Typer) -> None:
    """Add `vton train` to the main CLI."""
    app.command("train")(train_command)
