"""`vton registry ...`: promote an evaluated candidate through the gates, review, approve/reject, roll back."""

from __future__ import annotations

from typing import Optional

import typer

registry_app = typer.Typer(
    help="Model registry: promotion gates, human review, ledger, rollback.", no_args_is_help=True
)

ProfileOption = typer.Option(None, "--profile", "-p", help="smoke | test | full (default: params.yaml's `profile`).")


def _context(profile: Optional[str]):
    import mlflow

    from components.params import load_params
    from components.project import project_root
    from components.tracking.mlflow_run import configure_mlflow

    params = load_params(profile=profile)
    root = project_root()
    experiment_id = configure_mlflow(params.project.mlflow_experiment, root)
    return params, root, mlflow.MlflowClient(), experiment_id


@registry_app.command("promote")
def promote_command(
    run_id: str = typer.Option(..., "--run-id", help="The MLflow run that trained and evaluated the candidate."),
    profile: Optional[str] = ProfileOption,
) -> None:
    """Make the run's model version `challenger`; move `champion` if every gate passes (exit 3 when refused)."""
    from components.params import load_params
    from components.project import project_root
    from components.registry.stage import run

    result = run(load_params(profile=profile), project_root(), run_id)
    typer.echo(result.summary())
    if result.exit_code:
        raise typer.Exit(result.exit_code)


@registry_app.command("review")
def review_command(profile: Optional[str] = ProfileOption) -> None:
    """Print the evidence of every version awaiting review: figures beside the champion's, picture links."""
    from components.registry.promotion import review_text

    params, _, client, _ = _context(profile)
    typer.echo(review_text(client, params.project.registered_model))


def _decide(version: str, by: str, note: str, approve: bool, profile: Optional[str]) -> None:
    from components.registry.promotion import review_decision

    params, _, client, exp = _context(profile)
    decision = review_decision(client, params.project.registered_model, version, approve, by, note, params.promote, exp)
    typer.echo(decision.message)


ByOption = typer.Option(..., "--by", help="Who decides (recorded in the ledger).")
NoteOption = typer.Option("", "--note", help="Why (recorded in the ledger).")


@registry_app.command("approve")
def approve_command(
    version: str = typer.Argument(..., help="Model version awaiting review."),
    by: str = ByOption,
    note: str = NoteOption,
    profile: Optional[str] = ProfileOption,
) -> None:
    """Approve a challenger awaiting review: it becomes champion (if the champion has not moved meanwhile)."""
    _decide(version, by, note, True, profile)


@registry_app.command("reject")
def reject_command(
    version: str = typer.Argument(..., help="Model version awaiting review."),
    by: str = ByOption,
    note: str = NoteOption,
    profile: Optional[str] = ProfileOption,
) -> None:
    """Reject a challenger awaiting review; the champion stays."""
    _decide(version, by, note, False, profile)


@registry_app.command("rollback")
def rollback_command(
    by: str = ByOption,
    note: str = NoteOption,
    to: Optional[str] = typer.Option(None, "--to", help="Version to return to (default: the one champion replaced)."),
    profile: Optional[str] = ProfileOption,
) -> None:
    """Move `champion` back to the previous version; recorded in the ledger."""
    from components.registry.promotion import rollback

    params, _, client, exp = _context(profile)
    typer.echo(rollback(client, params.project.registered_model, by, note, params.promote, exp, to).message)


@registry_app.command("ledger")
def ledger_command(
    as_json: bool = typer.Option(False, "--json", help="Print the raw entries as JSON."),
    profile: Optional[str] = ProfileOption,
) -> None:
    """Print every alias move and review decision of the registered model, oldest first."""
    import json
    from dataclasses import asdict

    from components.registry.ledger import read_ledger

    params, _, client, _ = _context(profile)
    entries = read_ledger(client, params.project.registered_model)
    if as_json:
        typer.echo(json.dumps([asdict(e) for e in entries], indent=2))
        return
    for e in entries:
        move = f"{e.alias}: {e.from_version or '-'} -> {e.to_version or '-'}" if e.alias else f"v{e.to_version}"
        typer.echo(f"#{e.seq:<4} {e.at}  {e.action:<10} {move:<24} by {e.by}  {e.note}")


@registry_app.command("unlock")
def unlock_command(profile: Optional[str] = ProfileOption) -> None:
    """Remove a promotion lock left by a process that died (check that it is gone first)."""
    from components.registry.lock import force_unlock

    params, _, client, _ = _context(profile)
    held = force_unlock(client, params.project.registered_model)
    typer.echo(f"removed lock held by {held.get('holder')}" if held else "no lock was held")


def register(app: typer.Typer) -> None:
    """Add `vton registry` to the main CLI."""
    app.add_typer(registry_app, name="registry")
