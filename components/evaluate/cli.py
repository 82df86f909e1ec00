"""`vton evaluate`: score the trained candidate (and the champion) on the test split."""

from __future__ import annotations

from typing import Optional

import typer

ProfileOption = typer.Option(None, "--profile", "-p", help="smoke | test | full (default: params.yaml's `profile`).")


def evaluate_command(profile: Optional[str] = ProfileOption) -> None:
    """Generate paired/unpaired try-ons on the test split, compute FID/KID/SSIM/PSNR/LPIPS/IoU/GFD per category."""
    from components.params import load_params
    from components.evaluate.run import evaluate_stage
    from components.project import project_root

    params = load_params(profile=profile)
    evaluation, path = evaluate_stage(params, project_root())
    overall = evaluation.candidate_metrics.get("overall", {})
    figures = ", ".join(f"{k}={v:.4f}" for k, v in overall.items() if not k.startswith("n_") and v == v)
    typer.echo(f"evaluated {len(evaluation.candidate.scores)} pairs ({evaluation.calibration}): {figures}")
    typer.echo(f"FID/KID: {evaluation.comparability()[1]}")
    typer.echo(f"size accuracy: {size_accuracy_line(evaluation.candidate_metrics)}")
    if evaluation.champion_version:
        typer.echo(f"compared with champion v{evaluation.champion_version} on the same pairs")
    for note in evaluation.notes:
        typer.echo(f"note: {note}")
    typer.echo(f"metrics: {path}")


def size_accuracy_line(metrics: dict[str, dict[str, float]]) -> str:
    """Size accuracy per category and overall, with the pairs each was computed on."""
    parts = []
    for scope, figures in metrics.items():
        value, n = figures.get("size_accuracy"), int(figures.get("n_size") or 0)
        shown = "n/a" if value is None or value != value else f"{value:.2f}"
        parts.append(f"{scope} {shown} (n={n})")
    return ", ".join(parts) + " (fraction of pairs whose generated fit label is the requested one)"


def register(app: typer.Typer) -> None:
    """Add `vton evaluate` to the main CLI."""
    app.command("evaluate")(evaluate_command)
