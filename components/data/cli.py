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
    from components.params import load_params
    from components.data.importers import import_sources
    from components.data.params import ImportSource
    from components.errors import ConfigError
    from components.project import project_root, resolve

    params = load_params(profile=profile)
    settings = params.import_
    if source:
        specs = []
        for item in source:
            kind, sep, path = item.partition(":")
            if not sep or kind not in ("folder", "viton_hd", "dresscode", "hf"):
                raise ConfigError(f"--source {item!r}: expected KIND:PATH with KIND folder|viton_hd|dresscode|hf")
            specs.append(ImportSource(kind=kind, path=path))
        settings = settings.model_copy(update={"sources": specs})
    root = project_root()
    if not source and settings.include_scraped:
        from components.data.scrape.output import scraped_import_source

        scraped = scraped_import_source(params.paths.scraped, root)
        if scraped is not None:  # `vton data scrape` output joins the manifest like any import
            settings = settings.model_copy(update={"sources": [*settings.sources, scraped]})
    target = resolve(out or params.paths.imported, root)
    report = import_sources(settings, target, root)
    typer.echo(report.summary())
    typer.echo(f"manifest: {target / 'manifest.parquet'}")


@data_app.command("sample")
def sample_command(
    out: Path = typer.Option(Path("data/raw"), "--out", "-o", help="Folder to write the sample into."),
) -> None:
    """Materialise the bundled sample data (real people and garment photos + drawn dresses), byte-identical every time."""
    from components.data.sample_data import materialise_sample_data

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

    from components.params import load_params
    from components.data.scrape.run import scrape_sites
    from components.data.scrape.site import load_site
    from components.project import project_root, resolve

    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    params = load_params(profile=profile)
    root = project_root()
    sites = [load_site(resolve(p, root)) for p in (config or params.scrape.sites)]
    target = resolve(out or params.paths.scraped, root)
    report = scrape_sites(sites, params.scrape, target, resolve(state_dir or params.scrape.state_dir, root))
    typer.echo(report.summary())
    typer.echo(f"pairs: {target / 'pairs.csv'}  quarantine list: {target / 'quarantine.csv'}")


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
    from components.errors import ConfigError
    from components.params import load_params
    from components.data.augment.run import augment_dataset
    from components.project import project_root, resolve

    params = load_params(profile=profile)
    settings = params.augment
    if executor is not None:
        if executor not in ("local", "ray"):
            raise ConfigError(f"--executor {executor!r}: must be local or ray", hint="pass --executor local or ray")
        settings = settings.model_copy(update={"executor": executor})
    root = project_root()
    target = resolve(out or params.paths.augmented, root)
    report = augment_dataset(resolve(src or params.paths.annotated, root), target, settings,
                             cache_dir=resolve(settings.cache_dir, root), fit=params.fit)
    typer.echo(report.summary())
    typer.echo(f"manifest: {target / 'manifest.parquet'}")


def register(app: typer.Typer) -> None:
    """Add `vton data` to the main CLI."""
    app.add_typer(data_app, name="data")
