"""The `annotate` stage (`run`): a dataset directory (import's manifest) or a plain photo folder in, a VITON-HD
layout dataset plus manifest out. Every input row is kept: quarantined rows stay quarantined (their paths
rewritten to point back at the upstream files) and new failures join them with a reason.
"""

from __future__ import annotations

import hashlib
import os
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from components.annotate import layout
from components.annotate.engine import (
    EngineReport,
    annotator_identities,
    person_key,
    render_code_digest,
    run_engine,
    sample_key,
)
from components.annotate.params import AnnotateParams
from components.annotate.sample import SampleTask
from components.file_digests import FileDigests
from components.fit.columns import FIT_LABEL_COLUMN, fit_labels
from components.fit.params import FitParams
from components.manifest.schema import (
    CATEGORIES,
    MANIFEST_FILENAME,
    SPLITS,
    read_manifest,
    sample_id_for,
    write_manifest,
)
from components.params import Params

IMAGE_SUFFIXES = (".jpg", ".jpeg", ".png", ".webp", ".bmp", ".tif", ".tiff")
RESULT_COLUMNS = ("status", "quarantine_reason", "parsing_source", "mask_sources", "annotator_versions")


@dataclass
class AnnotateResult:
    """The written manifest, the engine's counts and the overlay sheets written (category -> path)."""

    manifest: pd.DataFrame
    report: EngineReport
    out_dir: Path
    sheets: dict[str, Path] = field(default_factory=dict)

    def summary(self) -> str:
        """The engine's counts, the manifest's path and one line per overlay sheet."""
        lines = [self.report.summary(), f"manifest: {self.out_dir / MANIFEST_FILENAME}"]
        lines += [f"overlay {category}: {path}" for category, path in self.sheets.items()]
        return "\n".join(lines)


def run(params: Params, root: Path, input: Path | None = None, out: Path | None = None,
        categories: list[str] | None = None, cache_dir: Path | None = None) -> AnnotateResult:
    """Annotate `input` (default paths.imported; a dataset dir, or a plain photo folder annotated for
    `categories`, default upper_body) into `out` (default paths.annotated). Run as the DVC stage (a project,
    default paths) it writes the overlay sheets under paths.reports and logs to MLflow; otherwise beside `out`."""
    from components.errors import ConfigError, DataContractError
    from components.project import resolve

    settings = params.annotate
    source = resolve(input or params.paths.imported, root)
    target = resolve(out or params.paths.annotated, root)
    cache = resolve(cache_dir or settings.cache_dir, root)
    if not source.is_dir():
        raise DataContractError(f"{source}: input folder not found",
                                hint="run `vton data import` first, or pass --input DIR")
    if (source / MANIFEST_FILENAME).is_file():
        result = annotate_dataset(source, target, settings, cache, fit=params.fit)
    else:
        cats = categories or ["upper_body"]
        bad = [c for c in cats if c not in CATEGORIES]
        if bad:
            raise ConfigError(f"--category {bad}: must be one of {list(CATEGORIES)}")
        result = annotate_folder(source, target, settings, cache, cats, fit=params.fit)
    is_stage = (root / "params.yaml").is_file() and input is None and out is None
    sheets_dir = resolve(params.paths.reports, root) / "annotate" if is_stage else target / "overlays"
    result.sheets = write_overlays(result, sheets_dir, settings.overlay_samples, cache)
    if is_stage:
        _log_to_mlflow(params, result)
    return result


def _log_to_mlflow(params: Params, result: AnnotateResult) -> None:
    """Overlay sheets and counts into the retrain's MLflow run (or a standalone `annotate` run)."""
    import mlflow

    from components.tracking.contract import Metric, metric_key
    from components.tracking.mlflow_run import stage_run

    report = result.report
    with stage_run("annotate", params.project.mlflow_experiment):
        mlflow.log_metrics({metric_key(Metric.ANNOTATE, name): value for name, value in (
            ("samples", report.total), ("new", report.done), ("cached", report.cached),
            ("quarantined", report.quarantined), ("model_calls", report.model_calls),
            ("retried_shards", report.retried_shards),
        )})
        for path in result.sheets.values():
            mlflow.log_artifact(str(path), artifact_path="annotate")


def _relative(path: Path, start: Path) -> str:
    return Path(os.path.relpath(path.resolve(), start.resolve())).as_posix()


def annotate_dataset(in_dir: Path, out_dir: Path, settings: AnnotateParams, cache_dir: Path,
                     fit: FitParams | None = None) -> AnnotateResult:
    """Annotate every ok sample of the manifest in `in_dir` into `out_dir` (fit labels from `fit`, default params)."""
    path = Path(in_dir) / MANIFEST_FILENAME
    st = path.stat() if path.is_file() else None
    df = read_manifest(in_dir)
    source = ["manifest", str(path.resolve()), st.st_size, st.st_mtime_ns] if st is not None else None
    return _annotate_rows(df, in_dir, out_dir, settings, cache_dir, source=source, fit=fit)


def annotate_folder(photos: Path, out_dir: Path, settings: AnnotateParams, cache_dir: Path,
                    categories: list[str], licence: str = "unknown (plain photo folder)",
                    fit: FitParams | None = None) -> AnnotateResult:
    """Annotate a plain folder of person photos; each garment is cut from the photo (the garment worn)."""
    from components.manifest.split import split_for

    digests = FileDigests(cache_dir)
    rows = []
    photos_real, out_real = photos.resolve(), out_dir.resolve()  # once, not twice per photo (an lstat per part)
    for path in sorted(p for p in photos.rglob("*") if p.is_file() and p.suffix.lower() in IMAGE_SUFFIXES):
        real = path.resolve()
        person_path = Path(os.path.relpath(real, out_real)).as_posix()
        base = {"source": photos.name, "source_url": Path(os.path.relpath(real, photos_real)).as_posix(),
                "licence": licence}
        facts = _photo_facts(path, digests)
        for category in categories:
            if "quarantine" in facts:
                sid = "q" + sample_id_for(digests.sha256(path), "worn-garment", category)[:15]
                rows.append({**base, "sample_id": sid, "person_path": person_path, "category": category,
                             "split": "train", "status": "quarantined",
                             "quarantine_reason": f"person image: {facts['quarantine']}"})
                continue
            sid = sample_id_for(facts["sha256"], "worn-garment", category)
            rows.append({**base, "sample_id": sid, "person_path": person_path, "garment_path": None,
                         "category": category, "split": split_for(facts["sha256"], 0.2), "status": "ok",
                         "person_sha256": facts["sha256"], "person_width": facts["width"],
                         "person_height": facts["height"]})
    # Columns from every row: ok and quarantined rows carry different fields, in any order.
    df = pd.DataFrame(rows) if rows else pd.DataFrame(columns=["sample_id"])
    return _annotate_rows(df, out_dir, out_dir, settings, cache_dir, paths_relative_to=out_dir, source=["folder", rows],
                          digests=digests, fit=fit)


def _photo_facts(path: Path, digests: FileDigests) -> dict:
    """{sha256, width, height} of a folder photo from its header, or {quarantine: reason}.

    The pixels are decoded (and checked for corrupt data) once, by the worker that annotates the photo;
    only photos whose upright size the header cannot tell are decoded here. A photo seen before and
    unchanged (size, mtime) is not read again."""
    from components.manifest.image_io import DecodeLimits, decode_image_bytes, probe_image_bytes, read_image_file
    from components.errors import Quarantine

    facts = digests.get(path, "header")
    if facts is not None:
        return facts
    try:
        data = read_image_file(path, DecodeLimits())
        header = probe_image_bytes(data, DecodeLimits())
        if header is None:
            decoded = decode_image_bytes(data, DecodeLimits())
            facts = {"sha256": decoded.sha256, "width": decoded.image.width, "height": decoded.image.height}
        else:
            facts = {"sha256": header.sha256, "width": header.width, "height": header.height}
    except Quarantine as q:
        return {"quarantine": q.reason}
    digests.put(path, "header", facts)
    digests.put(path, "sha256", facts["sha256"])
    return facts


def _annotate_rows(df: pd.DataFrame, in_dir: Path, out_dir: Path, settings: AnnotateParams, cache_dir: Path,
                   paths_relative_to: Path | None = None, source: list | None = None,
                   digests: FileDigests | None = None, fit: FitParams | None = None) -> AnnotateResult:
    """Annotate the ok rows of `df` and write the manifest; `source` (JSON-able) pins down what `df` holds."""
    base = paths_relative_to or in_dir
    digests = digests or FileDigests(cache_dir)  # inputs and weights are hashed once, not on every run
    identities = annotator_identities(settings, digests)  # missing weights fail here, before anything is written
    out_dir.mkdir(parents=True, exist_ok=True)
    code = render_code_digest(settings)

    def sha(path: Path) -> str:
        return digests.sha256(path) if path.is_file() else f"missing:{path}"

    tasks = []
    ok = df[df["status"] == "ok"]
    garments = ok["garment_path"] if "garment_path" in ok.columns else [None] * len(ok)
    # A cloth mask the source gave (import wrote it beside the garment) is used as it is, not derived again.
    masks = ok["cloth_mask_path"] if "cloth_mask_path" in ok.columns else [None] * len(ok)
    for sid, pp, gp, mp, category, split in zip(ok["sample_id"], ok["person_path"], garments, masks, ok["category"],
                                                ok["split"]):
        pfile = (base / pp).resolve()
        gfile = (base / gp).resolve() if isinstance(gp, str) else None
        mfile = (base / mp).resolve() if isinstance(mp, str) and gfile else None
        psha = sha(pfile)
        pkey = person_key(psha, settings, identities)
        gsha = sha(gfile) if gfile else None
        garment_key = f"{gsha}+mask:{sha(mfile)}" if mfile else gsha
        tasks.append(SampleTask(sid, category, split, str(pfile), str(gfile) if gfile else None,
                                pkey, sample_key(pkey, garment_key, sid, category, split, settings, code),
                                person_sha256=None if psha.startswith("missing:") else psha,
                                cloth_mask_file=str(mfile) if mfile else None))
    digests.save()
    rows, report = run_engine(tasks, settings, out_dir, cache_dir, identities)

    written = _write_manifest(df, rows, base, out_dir, digests, source, fit or FitParams())
    return AnnotateResult(written, report, out_dir)


def _write_manifest(df: pd.DataFrame, rows: dict[str, dict], base: Path, out_dir: Path, digests: FileDigests,
                    source: list | None, fit: FitParams) -> pd.DataFrame:
    """Write the manifest and pair lists (unless they already hold this content), prune stray files, and
    return the manifest as written."""
    manifest_path, pairs = out_dir / MANIFEST_FILENAME, [out_dir / f"{split}_pairs.txt" for split in SPLITS]
    # A re-run that changes nothing leaves the manifest and pair lists as they are (no rewrite, no new mtime).
    fingerprint = _fingerprint(source, rows, base, out_dir, fit) if source is not None else None
    stamps = [digests.get(f, "annotate_manifest") for f in (manifest_path, *pairs)]
    unchanged = fingerprint is not None and stamps == [fingerprint] * len(stamps)
    if unchanged:
        # The file this code wrote and validated, untouched since (size, mtime): read it back without re-checking
        # every row (half of read_manifest's ~15 ms); any other file goes through read_manifest's checks.
        import pyarrow.parquet as pq

        written = pq.read_table(manifest_path).to_pandas()
    else:
        merged = _merge_rows(df, rows, base, out_dir)
        merged[FIT_LABEL_COLUMN] = fit_labels(merged, fit)  # from the worn ratios: thresholds are params, not maps
        write_manifest(merged, out_dir)
        written = read_manifest(manifest_path)
    referenced = {v for col in layout.PATHS for v in written[col].tolist()
                  if isinstance(v, str) and not v.startswith("..")}
    layout.prune_unreferenced(out_dir, referenced)  # also after a kill left files no manifest lists
    if not unchanged:
        layout.write_pairs(written, out_dir)
        if fingerprint is not None:
            for f in (manifest_path, *pairs):
                digests.put(f, "annotate_manifest", fingerprint)
            digests.save()
    return written


def _merge_rows(df: pd.DataFrame, rows: dict[str, dict], base: Path, out_dir: Path) -> pd.DataFrame:
    """`df` with each sample's engine row applied, built column by column (per-cell .at was most of a cached run)."""
    updates = [rows.get(sid) for sid in df["sample_id"]]
    columns = {col: df[col] for col in df.columns}
    for col in ("person_path", "garment_path", "cloth_mask_path"):
        if col in columns:
            # Upstream quarantine, or annotate quarantined it: keep pointing at the upstream files.
            columns[col] = [_relative(base / v, out_dir) if isinstance(v, str) and _upstream(u) else v
                            for v, u in zip(columns[col], updates)]
    for col in sorted(set().union(*rows.values())) if rows else ():
        before = columns[col] if col in columns else [None] * len(df)
        columns[col] = pd.Series([u[col] if u is not None and col in u else v for v, u in zip(before, updates)],
                                 index=df.index, dtype=object)
    return pd.DataFrame(columns, index=df.index)


def _upstream(update: dict | None) -> bool:
    """True when a row keeps its upstream files: the engine skipped it or quarantined it."""
    return update is None or update.get("status") == "quarantined"


def _fingerprint(source: list, rows: dict[str, dict], base: Path, out_dir: Path, fit: FitParams) -> str:
    """A digest of everything the written manifest is made of: the input rows (`source`), the engine's rows,
    the folders paths are relative to, the fit thresholds, and the code that merges and writes them (equal
    digests: same file)."""
    import json

    from components.fit import labels as fit_label_code
    from components.manifest import schema

    # As JSON: a fresh row's numpy floats and the same row read back from the cache give the same text.
    labels = fit.model_dump(mode="json", include={"thresholds"})  # what fit_label is made of
    text = json.dumps([source, rows, str(base), str(out_dir), labels], sort_keys=True, default=str)
    h = hashlib.sha256(text.encode())
    for module in (__file__, schema.__file__, fit_label_code.__file__):
        h.update(Path(module).read_bytes())
    return h.hexdigest()


def sheet_key(dataset_dir: Path, rows: pd.DataFrame, category: str) -> str:
    """What an overlay sheet is drawn from: the bytes of the files it shows, its category and the drawing code
    (ours and Pillow's, whose JPEG encoder writes it)."""
    import PIL

    from components.annotate import keypoints, overlay
    from components.hashing import sha256_file

    h = hashlib.sha256(f"{category}\0{PIL.__version__}".encode())
    for module in (overlay.__file__, keypoints.__file__, layout.__file__):
        h.update(Path(module).read_bytes())
    for row in rows.itertuples(index=False):
        for column in overlay.SHEET_COLUMNS:
            value = getattr(row, column, None)
            h.update(sha256_file(dataset_dir / value).encode() if isinstance(value, str) else b"-")
    return h.hexdigest()


def write_overlays(result: AnnotateResult, target: Path, max_samples: int,
                   cache_dir: Path | None = None) -> dict[str, Path]:
    """Save one overlay sheet per category that has ok samples (JPEG: photos, small enough to show inline).

    With `cache_dir`, a sheet whose samples' files are unchanged is restored from the annotate cache, not drawn
    again: a re-run whose inputs are all cached pays a link per sheet."""
    import io

    from components.annotate import overlay
    from components.annotate.cache import AnnotateCache
    from components.file_store import place

    cache = AnnotateCache(cache_dir) if cache_dir is not None else None
    target.mkdir(parents=True, exist_ok=True)
    written = {}
    for category in CATEGORIES:
        rows = overlay.sheet_rows(result.manifest, category, max_samples)
        if rows.empty:
            continue
        path = layout.fresh_file(target / f"overlay_{category}.jpg")
        key = sheet_key(result.out_dir, rows, category) if cache is not None else None
        cached = cache.sheet(key) if cache is not None else None
        if cached is None:
            buf = io.BytesIO()
            sheet = overlay.overlay_sheet(result.out_dir, rows, category, max_samples)
            sheet.convert("RGB").save(buf, format="JPEG", quality=overlay.SHEET_QUALITY)
            if cache is None:
                path.write_bytes(buf.getvalue())
            else:
                cached = cache.save_sheet(key, buf.getvalue())
        if cached is not None:
            place(cached, path)
        written[category] = path
    return written
