"""`vton annotate` (the DVC stage, or any folder of photos) and `vton export`."""

from __future__ import annotations

from pathlib import Path
from typing import Optional

import typer

ProfileOption = typer.Option(None, "--profile", "-p", help="smoke | test | full (default: params.yaml's `profile`).")


def annotate_command(
    input: Optional[Path] = typer.Option(
        None, "--input", "-i", help="A dataset dir with manifest.parquet, or a plain folder of person photos "
        "(default: paths.imported)."),
    out: Optional[Path] = typer.Option(None, "--out", "-o", help="Output dataset dir (default: paths.annotated)."),
    category: Optional[list[str]] = typer.Option(
        None, "--category", "-c", help="For a plain photo folder: garment categories to annotate (repeatable; default upper_body)."),
    workers: Optional[int] = typer.Option(None, "--workers", "-w", help="Worker processes (default: annotate.workers)."),
    executor: Optional[str] = typer.Option(
        None, "--executor", help="local (process pool) | ray (actors on RAY_ADDRESS, else a local Ray); "
        "default: annotate.executor."),
    cache_dir: Optional[Path] = typer.Option(None, "--cache-dir", help="Annotation cache (default: annotate.cache_dir)."),
    profile: Optional[str] = ProfileOption,
) -> None:
    """Annotate person photos: keypoints, masks, parsing, agnostic images, measurements (VITON-HD layout)."""
    from components.annotate.stage import run
    from components.errors import ConfigError
    from components.params import load_params, resolve_params
    from components.project import project_root

    root = project_root()
    params = load_params(profile=profile) if (root / "params.yaml").is_file() else resolve_params({}, profile=profile)
    overrides = {}
    if workers is not None:
        overrides["workers"] = workers
    if executor is not None:
        if executor not in ("local", "ray"):
            raise ConfigError(f"--executor {executor!r}: must be local or ray")
        overrides["executor"] = executor
    if overrides:
        params = params.model_copy(update={"annotate": params.annotate.model_copy(update=overrides)})
    typer.echo(run(params, root, input=input, out=out, categories=category, cache_dir=cache_dir).summary())


def export_command(
    format: str = typer.Option(..., "--format", "-f", help="viton-hd | dresscode"),
    out: Path = typer.Option(..., "--out", "-o", help="Folder to write the exported dataset into."),
    input: Optional[Path] = typer.Option(None, "--input", "-i", help="Annotated dataset dir (default: paths.annotated)."),
    profile: Optional[str] = ProfileOption,
) -> None:
    """Export an annotated dataset in the VITON-HD or DressCode layout, with their exact file names."""
    from components.annotate.export import FORMATS, export_dataset
    from components.params import load_params
    from components.errors import ConfigError
    from components.project import project_root, resolve

    if format not in FORMATS:
        raise ConfigError(f"--format {format!r}: must be one of {list(FORMATS)}")
    root = project_root()
    source = Path(input) if input else resolve(load_params(profile=profile).paths.annotated, root)
    typer.echo(export_dataset(source, out, format).summary())


def register(app: typer.Typer) -> None:
    """Add `vton annotate` and `vton export` to the main CLI."""
    app.command("annotate")(annotate_command)
    app.command("export")(export_command)
