"""`vton remote ...`: point DVC at the team's object store from environment variables."""

from __future__ import annotations

import typer

remote_app = typer.Typer(help="The DVC remote (S3 / MinIO), configured from the environment.", no_args_is_help=True)


@remote_app.command("configure")
def configure_command(
    default: bool = typer.Option(True, "--default/--no-default", help="Make it the default remote for push/pull."),
) -> None:
    """Write the remote named by VTON_DVC_REMOTE_URL (+ S3 endpoint) into .dvc/config.local."""
    from components.errors import ConfigError
    from components.project import project_root
    from components.storage.dvc_remote import REMOTE_URL_ENV, configure_remote, remote_from_env

    settings = remote_from_env()
    if settings is None:
        raise ConfigError(
            f"{REMOTE_URL_ENV} is not set",
            hint="source an env file (infra/env/team.env) or export VTON_DVC_REMOTE_URL=s3://BUCKET/PREFIX",
        )
    path = configure_remote(project_root(), settings, default=default)
    where = f" at {settings.endpoint}" if settings.endpoint else ""
    typer.echo(f"DVC remote '{settings.name}' -> {settings.url}{where} (written to {path})")


@remote_app.command("show")
def show_command() -> None:
    """Print the default DVC remote after merging every config level."""
    from components.project import project_root
    from components.storage.dvc_remote import default_remote

    found = default_remote(project_root())
    if found is None:
        typer.echo("no default DVC remote")
        raise typer.Exit(1)
    name, section = found
    typer.echo(f"{name}: " + ", ".join(f"{k}={v}" for k, v in sorted(section.items())))


def register(app: typer.Typer) -> None:
    """Add `vton remote` to the main CLI."""
    app.add_typer(remote_app, name="remote")
