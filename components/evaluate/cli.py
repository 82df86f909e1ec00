"""`vton evaluate`: score the trained candidate (and the champion) on the test split."""

from __future__ import annotations

from typing import Optional

import typer

ProfileOption = typer.Option(None, "--profile", "-p", help="smoke | test | full (default: params.yaml's `profile`).")


def evaluate_command(profile: Optional[str] = ProfileOption) -> None:
    """Generate paired/unpaired try-ons on the test split, compute FID/KID/SSIM/PSNR/LPIPS/IoU/GFD per category."""
    from components.evaluate.stage import run
    from components.params import load_params
    from components.project import project_root

    typer.echo(run(load_params(profile=profile), project_root()).summary())


def register(app: typer.Typer) -> None:
    """Add `vton evaluate` to the main CLI."""
    app.command("evaluate")(evaluate_command)
