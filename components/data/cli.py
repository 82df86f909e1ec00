"""`vton data ...`: import sources, materialise the sample data (scrape, augment and diff join here)."""

from __future__ import annotations

from pathlib import Path
from typing import Optional

import typer

data_app = typer.Typer(help="Acquire data: import, sample, scrape, augment, diff.", no_args_is_help=True)

ProfileOption = typer.Option(None, "--profile", "-p", help="smoke | test | full (default: params.yaml's `profile`).")


@data_app.command("import")
def import_command(
    out: Optional[Path] = typer.Option(None, "--out", "-o", help="Dataset directory (default: paths.imported)."),
    source: Optional[list[str]] = typer.Option(
        None, "--source", help="KIND:PATH to import instead of params (folder|viton_hd|dresscode|hf), repeatable."
    ),
    profile: Optional[str] = ProfileOption,
) -> None:
    """Import person/garment pairs from folders, VITON-HD, DressCode or a Hugging Face dataset."""
    from components.data.importers.stage import run
    from components.data.params import ImportSource
    from components.errors import ConfigError
    from components.params import load_params
    from components.project import project_root

    params = load_params(profile=profile)
    specs = []
    for item in source or []:
        kind, sep, path = item.partition(":")
        if not sep or kind not in ("folder", "viton_hd", "dresscode", "hf"):
            raise ConfigError(f"--source {item!r}: expected KIND:PATH with KIND folder|viton_hd|dresscode|hf")
        specs.append(ImportSource(kind=kind, path=path))
    typer.echo(run(params, project_root(), sources=specs or None, out=out).summary())


@data_app.command("sample")
def sample_command(
    out: Optional[Path] = typer.Option(None, "--out", "-o", help="Folder to write the sample into (default: paths.raw)."),
) -> None:
    """Materialise the bundled sample data (real people and garment photos + drawn dresses), byte-identical every time."""
    from components.data.sample_data import materialise_sample_data
    from components.params import load_params, resolve_params
    from components.project import project_root, resolve

    if out is None:
        root = project_root()
        params = load_params() if (root / "params.yaml").is_file() else resolve_params({})
        out = resolve(params.paths.raw, root)
    folder = materialise_sample_data(out)
    typer.echo(f"sample data written to {folder}")


@data_app.command("scrape")
def scrape_command(
    config: Optional[list[Path]] = typer.Option(
        None, "--config", "-c", help="Site YAML to crawl (repeatable; default: scrape.sites in params.yaml)."
    ),
    out: Optional[Path] = typer.Option(None, "--out", "-o", help="Output folder (default: paths.scraped)."),
    state_dir: Optional[Path] = typer.Option(None, "--state-dir", help="Crawl state folder (default: scrape.state_dir)."),
    profile: Optional[str] = ProfileOption,
) -> None:
    """Crawl product pages politely into person/garment pairs (pairs.csv + images + quarantine.csv)."""
    import logging

    from components.data.scrape.stage import run
    from components.params import load_params
    from components.project import project_root

    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    params = load_params(profile=profile)
    typer.echo(run(params, project_root(), configs=config, out=out, state_dir=state_dir).summary())


@data_app.command("diff")
def diff_command(
    rev_a: str = typer.Argument(..., help="Old git revision (commit, tag, branch) or `workspace`."),
    rev_b: str = typer.Argument("workspace", help="New git revision or `workspace` (default)."),
    manifest: Optional[str] = typer.Option(
        None, "--manifest", "-m", help="Dataset directory or manifest file, relative to the repo (default: paths.augmented)."
    ),
    as_json: bool = typer.Option(False, "--json", help="Print JSON instead of Markdown tables."),
) -> None:
    """Compare the manifest at two DVC revisions: samples added/removed, annotation drift, new quarantine reasons."""
    import json

    from components.params import load_params
    from components.project import project_root
    from components.validate.diff import diff_revisions, render_markdown

    diff = diff_revisions(rev_a, rev_b, manifest or load_params().paths.augmented, project_root())
    typer.echo(json.dumps(diff.to_dict(), indent=2, default=str) if as_json else render_markdown(diff))


@data_app.command("augment")
def augment_command(
    src: Optional[Path] = typer.Option(None, "--in", "-i", help="Annotated dataset (default: paths.annotated)."),
    out: Optional[Path] = typer.Option(None, "--out", "-o", help="Output dataset (default: paths.augmented)."),
    executor: Optional[str] = typer.Option(
        None, "--executor", help="local (this process) | ray (actors on RAY_ADDRESS, else a local Ray); "
        "default: augment.executor."),
    profile: Optional[str] = ProfileOption,
) -> None:
    """Add paired, geometry-consistent variants of the train samples (test samples are never augmented)."""
    from components.data.augment.stage import run
    from components.errors import ConfigError
    from components.params import load_params
    from components.project import project_root

    params = load_params(profile=profile)
    if executor is not None:
        if executor not in ("local", "ray"):
            raise ConfigError(f"--executor {executor!r}: must be local or ray", hint="pass --executor local or ray")
        params = params.model_copy(update={"augment": params.augment.model_copy(update={"executor": executor})})
    typer.echo(run(params, project_root(), src=src, out=out).summary())


def register(app: typer.Typer) -> None:
    """Add `vton data` to the main CLI."""
    app.add_typer(data_app, name="data")
