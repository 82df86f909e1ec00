"""`vton models list|pull|verify`: what models the pipeline knows, fetch them, recheck them (pins and --trust)."""

from __future__ import annotations

from typing import Optional

import typer

models_app = typer.Typer(help="The model store: list, pull and verify model weights.", no_args_is_help=True)


TrustOption = typer.Option(
    False, "--trust",
    help="For models whose catalog entry pins no sha256: vouch for the file and record its sha256 as trusted.",
)


@models_app.command("list")
def list_command() -> None:
    """List every catalogued model with its source, licence, user, local status and whether its sha256 is pinned."""
    from components.models.store import Catalog, local_path, pin_state, status, trusted_sha

    catalog = Catalog.load()
    for e in catalog.entries.values():
        state = status(e)
        where = local_path(e) if state != "missing" else "-"
        pin = pin_state(e)
        typer.echo(f"{e.name:32s} {e.version:14s} {state:8s} {pin:10s} used by {','.join(e.used_by)}")
        typer.echo(f"    source:  {e.source}")
        if pin == "pinned":
            typer.echo(f"    sha256:  {e.sha256}   licence: {e.licence}")
        elif pin == "trusted":
            typer.echo(f"    sha256:  {trusted_sha(e)} (not pinned: trusted by you with --trust)   licence: {e.licence}")
        else:
            typer.echo(f"    sha256:  unverified (the catalog pins none; pin it, or pull/verify with --trust)   "
                       f"licence: {e.licence}")
        typer.echo(f"    local:   {where}")


def _chosen(catalog, names: list[str] | None, default) -> list:
    """The entries `names` select (a name, or a multi-file model's group), else `default`'s."""
    if not names:
        return default
    return [entry for name in names for entry in catalog.select(name)]


@models_app.command("pull")
def pull_command(
    names: Optional[list[str]] = typer.Argument(
        None, help="Models to pull: a name, or a multi-file model such as flux1-fill-dev (every flux1-fill-dev.* "
        "file); default: every downloadable one."),
    trust: bool = TrustOption,
) -> None:
    """Download models into the local cache, verifying each file's sha256 (mismatches are refused)."""
    from components.models.store import Catalog, pull_model, sha256_file

    catalog = Catalog.load()
    chosen = _chosen(catalog, names, list(catalog.entries.values()))
    for entry in chosen:
        path = pull_model(entry, trust=trust)
        note = "" if entry.sha_known else "  (unpinned: recorded as trusted; pin it in components/models/catalog.yaml)"
        typer.echo(f"{entry.name}: {path}  sha256 {sha256_file(path)}{note}")


@models_app.command("verify")
def verify_command(
    names: Optional[list[str]] = typer.Argument(
        None, help="Models to check: names or multi-file models (default: every one present)."),
    trust: bool = TrustOption,
) -> None:
    """Recompute the sha256 of local model files and compare with the catalog's pin (or the --trust record)."""
    from components.errors import MissingWeightsError
    from components.models.store import Catalog, UnverifiedWeights, local_path, pin_state, unverified_error, verify_file

    catalog = Catalog.load()
    chosen = _chosen(catalog, names, list(catalog.entries.values()))
    missing, unverified = [], []
    for entry in chosen:
        path = local_path(entry)
        if not path.is_file():
            missing.append(entry.name)
            typer.echo(f"{entry.name}: missing ({path})")
            continue
        try:
            sha = verify_file(entry, path, force=True, trust=trust)
        except UnverifiedWeights:
            unverified.append(entry)
            typer.echo(f"{entry.name}: UNVERIFIED  the catalog pins no sha256 and the file was never trusted")
            continue
        typer.echo(f"{entry.name}: ok ({pin_state(entry)})  sha256 {sha}")
    if len(unverified) == 1:
        raise unverified_error(unverified[0])
    if unverified:
        raise UnverifiedWeights(
            f"unverified (no pinned sha256): {[e.name for e in unverified]}",
            hint="pin each sha256 in components/models/catalog.yaml from the publisher's listing, or vouch for the "
            "files with `vton models verify " + " ".join(e.name for e in unverified) + " --trust`",
        )
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
