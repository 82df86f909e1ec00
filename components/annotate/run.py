"""Annotating a dataset (import's manifest) or a plain photo folder into the VITON-HD layout plus a manifest:
the samples planned, annotated by the engine (engine.py), merged into the input rows and written. Every input row
is kept: quarantined rows stay quarantined (their paths rewritten to point back at the upstream files) and new
failures join them with a reason. The stage (stage.py) imports this only when its whole-run lookup misses.
"""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

import pandas as pd

from components.annotate import layout
from components.annotate.engine import (
    annotator_identities,
    annotator_weights_files,
    person_key,
    render_code_digest,
    run_engine,
    sample_key,
)
from components.annotate.params import AnnotateParams
from components.annotate.photo_folder import folder_photos
from components.annotate.report import AnnotateResult
from components.annotate.sample import SampleTask
from components.file_digests import FileDigests
from components.fit.columns import FIT_LABEL_COLUMN, fit_labels
from components.fit.params import FitParams
from components.manifest.schema import MANIFEST_FILENAME, SPLITS, read_manifest, sample_id_for, write_manifest


def _relative(path: Path, start: Path) -> str:
    return Path(os.path.relpath(path.resolve(), start.resolve())).as_posix()


def annotate_dataset(in_dir: Path, out_dir: Path, settings: AnnotateParams, cache_dir: Path,
                     fit: FitParams | None = None) -> AnnotateResult:
    """Annotate every ok sample of the manifest in `in_dir` into `out_dir` (fit labels from `fit`, default params)."""
    path = Path(in_dir) / MANIFEST_FILENAME
    st = path.stat() if path.is_file() else None
    df = read_manifest(in_dir)
    source = ["manifest", str(path.resolve()), st.st_size, st.st_mtime_ns] if st is not None else None
    digests = FileDigests(cache_dir)
    return _annotate_rows(df, in_dir, out_dir, settings, cache_dir, source=source, digests=digests, fit=fit,
                          inputs={str(path): digests.sha256(path)})


def annotate_folder(photos: Path, out_dir: Path, settings: AnnotateParams, cache_dir: Path,
                    categories: list[str], licence: str = "unknown (plain photo folder)",
                    fit: FitParams | None = None) -> AnnotateResult:
    """Annotate a plain folder of person photos; each garment is cut from the photo (the garment worn)."""
    from components.manifest.split import split_for

    digests = FileDigests(cache_dir)
    rows, inputs = [], {}
    photos_real, out_real = photos.resolve(), out_dir.resolve()  # once, not twice per photo (an lstat per part)
    for path in folder_photos(photos):
        real = path.resolve()
        person_path = Path(os.path.relpath(real, out_real)).as_posix()
        base = {"source": photos.name, "source_url": Path(os.path.relpath(real, photos_real)).as_posix(),
                "licence": licence}
        facts = _photo_facts(path, digests)
        inputs[str(path)] = facts.get("sha256") or digests.sha256(path)
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
                          digests=digests, fit=fit, inputs=inputs)


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
                   digests: FileDigests | None = None, fit: FitParams | None = None,
                   inputs: dict[str, str | None] | None = None) -> AnnotateResult:
    """Annotate the ok rows of `df` and write the manifest; `source` (JSON-able) pins down what `df` holds, and
    `inputs` (path -> sha256) the files read to make it, which the files this run reads join."""
    base = paths_relative_to or in_dir
    digests = digests or FileDigests(cache_dir)  # inputs and weights are hashed once, not on every run
    identities = annotator_identities(settings, digests)  # missing weights fail here, before anything is written
    inputs = dict(inputs or {})
    inputs.update((str(f), digests.sha256(f)) for f in annotator_weights_files(settings))
    out_dir.mkdir(parents=True, exist_ok=True)
    code = render_code_digest(settings)

    def sha(path: Path) -> str:
        inputs[str(path)] = digests.sha256(path) if path.is_file() else None
        return inputs[str(path)] or f"missing:{path}"

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
    return AnnotateResult(report, out_dir, inputs=inputs, written=written)


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


