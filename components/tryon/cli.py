"""`vton tryon`: one pair (PERSON GARMENT --category C --out result.png) or a list (--pairs FILE --out DIR)."""

from __future__ import annotations

from pathlib import Path
from typing import Optional

import typer


def tryon_command(
    person: Optional[Path] = typer.Argument(None, help="Person photo (no annotations needed)."),
    garment: Optional[Path] = typer.Argument(None, help="Garment image."),
    category: Optional[str] = typer.Option(None, "--category", "-c", help="upper_body | lower_body | dresses."),
    pairs: Optional[Path] = typer.Option(
        None, "--pairs", help="Text file of `person garment [category [mask]]` lines (paths relative to it)."
    ),
    out: Path = typer.Option(..., "--out", "-o", help="Result PNG (one pair) or output folder (--pairs)."),
    model: Optional[str] = typer.Option(
        None, "--model", "-m", help="models:/<name>@champion (default), models:/<name>/<version> or a model folder."
    ),
    mask: Optional[Path] = typer.Option(None, "--mask", help="Agnostic mask (white = repaint); default: computed."),
    steps: Optional[int] = typer.Option(None, "--steps", help="Sampling steps (sampling families only)."),
    seed: int = typer.Option(0, "--seed", help="Sampling seed (sampling families only)."),
    profile: Optional[str] = typer.Option(
        None, "--profile", "-p", help="params.yaml profile: the registered model's name, and the annotate settings "
        "of masks for a model that recorded none."
    ),
    annotation_cache: Optional[Path] = typer.Option(
        None, "--annotation-cache", help="Where person photos' annotations are kept (default: annotate.cache_dir)."
    ),
    no_annotation_cache: bool = typer.Option(
        False, "--no-annotation-cache", help="Remember annotations in this call only (nothing written)."
    ),
    fit: Optional[str] = typer.Option(
        None, "--fit", help="tight | fitted | loose: the fit to dress the person in (size-aware models)."
    ),
    ratios: Optional[tuple[float, float, float]] = typer.Option(
        None, "--ratios", help="W L S: the worn width, length and span ratios to ask for (instead of --fit)."
    ),
) -> None:
    """Dress a person in a garment with a trained model (any family), one pair or a list of pairs."""
    import sys

    from components.params import load_params
    from components.errors import ConfigError, GateFailed
    from components.progress import progress
    from components.project import project_root
    from components.tryon.run import Pair, TryOn, check_category, read_pairs, resolve_model

    if (pairs is None) == (person is None or garment is None):
        raise ConfigError("give PERSON GARMENT --category C, or --pairs FILE (not both)",
                          hint="vton tryon person.jpg garment.jpg --category upper_body --out result.png")
    root = project_root()
    params = load_params(profile=profile)
    uri = model or f"models:/{params.project.registered_model}@champion"
    if pairs is not None:
        todo = read_pairs(pairs, category)
    else:
        if category is None:
            raise ConfigError("--category is required for one pair", hint="upper_body | lower_body | dresses")
        todo = [Pair(person, garment, check_category(category, "--category"), mask)]
    from components.project import resolve

    cache_dir = None if no_annotation_cache else (annotation_cache or resolve(params.annotate.cache_dir, root))
    import tempfile

    # A registry model is downloaded for this call only; a folder given with --model is read in place.
    with tempfile.TemporaryDirectory(prefix="vton-tryon-") as download:
        tryon = TryOn(resolve_model(uri, root, Path(download)), params.annotate, cache_dir=cache_dir)
        typer.echo(f"model: {uri} ({tryon.family})" + (" size-aware" if tryon.size_aware else ""), err=True)
        if tryon.note:
            typer.echo(tryon.note, err=True)
        asked = fit is not None or ratios is not None
        requests = {c: tryon.size_request(c, fit, ratios) for c in {p.category for p in todo}} if asked else {}
        if asked and not tryon.size_aware:
            typer.echo("note: this model was trained without size conditioning (train.size_conditioning): "
                       f"{'--fit ' + fit if fit else '--ratios'} is ignored and the garment is tried on as worn",
                       err=True)
            requests = {}
        for category, request in requests.items():
            typer.echo(f"fit: {category} asks for width {request[0]:.3f}, length {request[1]:.3f}, "
                       f"span {request[2]:.3f} (worn ratios)", err=True)
        if pairs is None:
            try:
                result = tryon.run(todo[0], steps, seed, requests.get(todo[0].category))
            except ValueError as exc:
                from components.errors import DataContractError

                raise DataContractError(f"{person}: {exc}", hint="use a photo of one person, or pass --mask") from None
            out.parent.mkdir(parents=True, exist_ok=True)
            result.save(out)
            typer.echo(tryon.annotation_summary(), err=True)
            typer.echo(str(out))
            return
        out.mkdir(parents=True, exist_ok=True)
        failed = []
        for pair in progress(todo, total=len(todo), desc="tryon", unit="pair"):
            try:
                tryon.run(pair, steps, seed, requests.get(pair.category)).save(out / pair.output_name())
            except (ValueError, OSError) as exc:  # one unusable photo must not stop the list
                failed.append((pair, str(exc)))
                print(f"tryon: {pair.person} + {pair.garment}: {exc}", file=sys.stderr)
        typer.echo(tryon.annotation_summary(), err=True)
        typer.echo(f"{len(todo) - len(failed)} of {len(todo)} pairs written to {out}")
        if failed:
            raise GateFailed(f"{len(failed)} of {len(todo)} pairs could not be tried on (listed above)",
                             hint="check those photos show one person, or pass their masks in the pairs file")


def register(app: typer.Typer) -> None:
    """Add `vton tryon` to the main CLI."""
    app.command("tryon")(tryon_command)
