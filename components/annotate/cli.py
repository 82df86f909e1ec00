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
    from components.annotate.stage import annotate_dataset, annotate_folder, write_overlays
    from components.params import load_params, resolve_params
    from components.config.loader import read_params_file
    from components.errors import ConfigError, DataContractError
    from components.manifest.schema import CATEGORIES, MANIFEST_FILENAME
    from components.project import project_root, resolve

    root = project_root()
    in_project = (root / "params.yaml").is_file()
    params = load_params(profile=profile) if in_project else resolve_params({}, profile=profile)
    settings = params.annotate
    if workers is not None:
        settings = settings.model_copy(update={"workers": workers})
    if executor is not None:
        if executor not in ("local", "ray"):
            raise ConfigError(f"--executor {executor!r}: must be local or ray")
        settings = settings.model_copy(update={"executor": executor})
    source = resolve(input or params.paths.imported, root)
    target = resolve(out or params.paths.annotated, root)
    cache = resolve(cache_dir or settings.cache_dir, root)
    if not source.is_dir():
        raise DataContractError(f"{source}: input folder not found",
                                hint="run `vton data import` first, or pass --input DIR")
    if (source / MANIFEST_FILENAME).is_file():
        result = annotate_dataset(source, target, settings, cache, fit=params.fit)
    else:
        cats = category or ["upper_body"]
        bad = [c for c in cats if c not in CATEGORIES]
        if bad:
            raise ConfigError(f"--category {bad}: must be one of {list(CATEGORIES)}")
        result = annotate_folder(source, target, settings, cache, cats, fit=params.fit)
    typer.echo(result.report.summary())
    typer.echo(f"manifest: {target / MANIFEST_FILENAME}")
    is_stage = in_project and input is None and out is None
    sheets_dir = resolve(params.paths.reports, root) / "annotate" if is_stage else target / "overlays"
    sheets = write_overlays(result, sheets_dir, settings.overlay_samples)
    for category_name, path in sheets.items():
        typer.echo(f"overlay {category_name}: {path}")
    if is_stage:
        _log_to_mlflow(params, result, sheets)


def _log_to_mlflow(params, result, sheets: dict) -> None:
    """Overlay sheets and counts into the retrain's MLflow run (or a standalone `annotate` run)."""
    from components.tracking.mlflow_run import stage_run

    import mlflow

    report = result.report
    with stage_run("annotate", params.project.mlflow_experiment):
        mlflow.log_metrics({
            "annotate_samples": report.total, "annotate_new": report.done, "annotate_cached": report.cached,
            "annotate_quarantined": report.quarantined, "annotate_model_calls": report.model_calls,
            "annotate_retried_shards": report.retried_shards,
        })
        for path in sheets.values():
            mlflow.log_artifact(str(path), artifact_path="annotate")


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
