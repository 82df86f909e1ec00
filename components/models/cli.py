"""`vton models list|pull|verify`: what models the pipeline knows, fetch them, recheck them."""

from __future__ import annotations

from typing import Optional

import typer

models_app = typer.Typer(help="The model store: list, pull and verify model weights.", no_args_is_help=True)


@models_app.command("list")
def list_command() -> None:
    """List every catalogued model with its source, licence, user and local status."""
    from components.models.store import Catalog, local_path, status

    catalog = Catalog.load()
    for e in catalog.entries.values():
        state = status(e)
        where = local_path(e) if state != "missing" else "-"
        typer.echo(f"{e.name:32s} {e.version:14s} {state:8s} used by {','.join(e.used_by)}")
        typer.echo(f"    source:  {e.source}")
        typer.echo(f"    sha256:  {e.sha256}   licence: {e.licence}")
        typer.echo(f"    local:   {where}")


@models_app.command("pull")
def pull_command(
    names: Optional[list[str]] = typer.Argument(None, help="Models to pull (default: every downloadable one)."),
) -> None:
    """Download models into the local cache, verifying each file's sha256 (mismatches are refused)."""
    from components.models.store import Catalog, pull_model

    catalog = Catalog.load()
    chosen = [catalog.get(n) for n in names] if names else list(catalog.entries.values())
    for entry in chosen:
        path = pull_model(entry)
        note = "" if entry.sha_known else "  (first pull: record this sha256 in components/models/catalog.yaml)"
        from components.models.store import sha256_file

        typer.echo(f"{entry.name}: {path}  sha256 {sha256_file(path)}{note}")


@models_app.command("verify")
def verify_command(
    names: Optional[list[str]] = typer.Argument(None, help="Models to check (default: every one present)."),
) -> None:
    """Recompute the sha256 of local model files and compare with the catalog."""
    from components.errors import MissingWeightsError
    from components.models.store import Catalog, local_path, verify_file

    catalog = Catalog.load()
    chosen = [catalog.get(n) for n in names] if names else list(catalog.entries.values())
    missing = []
    for entry in chosen:
        path = local_path(entry)
        if not path.is_file():
            missing.append(entry.name)
            typer.echo(f"{entry.name}: missing ({path})")
            continue
        typer.echo(f"{entry.name}: ok  sha256 {verify_file(entry, path, force=True)}")
    if names and missing:
        raise MissingWeightsError(f"not in the model store: {missing}", hint="run `vton models pull " + " ".join(missing) + "`")


# Catalog names that can be converted into other runtimes' formats: name -> "module:function" writing the exports.
EXPORTERS = {"densepose_r50_fpn_s1x": "components.annotate.networks.densepose_onnx:export_to_store"}


@models_app.command("export-onnx")
def export_onnx_command(
    name: str = typer.Argument(..., help=f"The model to convert (one of: {', '.join(EXPORTERS)})."),
) -> None:
    """Convert a model in the store to ONNX graphs for onnxruntime, recorded in the store with their checksums."""
    import importlib

    from components.errors import ConfigError

    if name not in EXPORTERS:
        raise ConfigError(f"no ONNX exporter for {name!r}", hint=f"exportable: {', '.join(EXPORTERS)}")
    module, func = EXPORTERS[name].split(":")
    typer.echo(f"{name}: exporting to ONNX (about half a minute on CPU)")
    for exported, path in getattr(importlib.import_module(module), func)().items():
        typer.echo(f"{exported}: {path}")


def register(app: typer.Typer) -> None:
    """Add `vton models` to the main CLI."""
    app.add_typer(models_app, name="models")
