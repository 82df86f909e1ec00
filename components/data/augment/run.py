"""Augment the annotated dataset: every input row is kept (paths rewritten to point into the annotated
directory) and each ok train sample gains `variants_per_sample` augmented rows with their own files.

Test samples are never augmented, and an augmented row keeps its parent's split, so no augmented copy of
a test image can reach training.
"""

from __future__ import annotations

import hashlib
import math
import os
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
from PIL import Image

from components.data.augment.cache import AugmentCache, clear_outputs, parent_key, variant_key
from components.data.augment.report import AugmentReport
from components.data.augment.sample import MAP_COLUMNS, SampleArrays, augment_sample, load_sample
from components.data.augment.size import draw_scale, rescale_garment
from components.data.augment.transforms import check, to_json, variant_seed
from components.data.augment.whole_run import PLACEMENT, RunLookup, look_up_run
from components.manifest.image_io import perceptual_hash
from components.data.params import AugmentParams
from components.fit.columns import FIT_LABEL_COLUMN, fit_labels
from components.fit.params import FitParams
from components.hashing import sha256_file
from components.manifest.schema import (
    ANNOTATION_PATH_COLUMNS,
    MANIFEST_FILENAME,
    STAT_COLUMNS,
    garment_worn,
    read_manifest,
    write_manifest,
)
from components.progress import progress

PATH_COLUMNS = ("person_path", "garment_path", *ANNOTATION_PATH_COLUMNS)
def relink(df: pd.DataFrame, src: Path, dst: Path) -> pd.DataFrame:
    """`df` with every path column made relative to `dst` instead of `src` (e.g. `../annotated/...`)."""
    out = df.copy()
    prefix = Path(os.path.relpath(src.resolve(), dst.resolve()))
    for col in PATH_COLUMNS:
        if col in out.columns:
            out[col] = out[col].map(lambda p: None if p is None or (isinstance(p, float) and math.isnan(p))
                                    else (prefix / p).as_posix())
    return out


def _write(sample: SampleArrays, row: dict, split: str, sid: str, out_dir: Path) -> dict:
    """Write an augmented sample in the annotate layout; return its manifest path columns and statistics."""
    from components.annotate.keypoints import dresscode_json, openpose_json, render_skeleton, write_json
    from components.annotate.layout import (
        densepose_image, path_for, render_densepose, save_image, save_labels, save_mask, save_png,
    )
    from components.annotate.measure import body_measurements, garment_measurements, keypoint_stats, size_ratios
    from components.fit.columns import ratio_columns, worn_region
    from components.fit.ratios import worn_fit_ratios

    cols: dict = {}

    def place(column: str) -> Path:
        cols[column] = path_for(column, split, sid)
        return out_dir / cols[column]

    # save_image: the format the layout's file name says (colour photos are JPEG, maps PNG).
    save_image(sample.person, place("person_path"))
    save_image(sample.garment, place("garment_path"))
    for column, name in MAP_COLUMNS.items():
        if name not in sample.maps:
            continue
        arr = sample.maps[name]
        if name in ("agnostic",):
            save_image(arr, place(column))
        elif name == "densepose":
            iuv = densepose_image(arr, None) if arr.ndim == 2 else arr
            save_png(iuv, place(column))
            save_png(render_densepose(iuv[..., 0]), place("densepose_path"))
        elif arr.dtype == bool:
            save_mask(arr, place(column))
        else:
            save_labels(arr, place(column))
    h, w = sample.person.shape[:2]
    stats: dict = {}
    if sample.keypoints is not None:
        kp = sample.keypoints
        write_json(openpose_json(kp), place("keypoints_path"))
        if row.get("keypoints_coco18_path"):
            write_json(dresscode_json(kp), place("keypoints_coco18_path"))
        if row.get("pose_render_path"):  # re-rendered: a mirrored render would carry the wrong limb colours
            save_png(render_skeleton(kp, w, h), place("pose_render_path"))
        body = body_measurements(kp, sample.maps.get("person_mask"))
        stats.update(body)
        stats.update(keypoint_stats(kp))
        if "cloth_mask" in sample.maps:
            garment = garment_measurements(sample.maps["cloth_mask"])
            stats.update(garment)
            stats.update(size_ratios(row["category"], body, garment))
        worn = worn_region(row["category"], sample.maps.get("parse"))
        if worn is not None:  # the worn garment moved (or was resized) with the person: measure it again
            stats.update(ratio_columns(worn_fit_ratios(row["category"], worn, kp, sample.maps.get("person_mask"))))
    for name, column in (("person_mask", "person_mask_area"), ("cloth_mask", "cloth_mask_area"),
                         ("agnostic_mask", "agnostic_mask_area")):
        if name in sample.maps:
            stats[column] = float(np.count_nonzero(sample.maps[name]))  # == .sum() on a bool mask, ~10x faster
    person_bytes = (out_dir / cols["person_path"]).read_bytes()
    garment_bytes = (out_dir / cols["garment_path"]).read_bytes()
    return {
        **cols,
        **{k: (None if isinstance(v, float) and math.isnan(v) else v) for k, v in stats.items()},
        "person_sha256": hashlib.sha256(person_bytes).hexdigest(),
        "garment_sha256": hashlib.sha256(garment_bytes).hexdigest(),
        "person_phash": perceptual_hash(Image.fromarray(sample.person)),
        "garment_phash": perceptual_hash(Image.fromarray(sample.garment)),
        "person_width": w, "person_height": h,
        "garment_width": sample.garment.shape[1], "garment_height": sample.garment.shape[0],
    }


# Variants whose files are being encoded at once; past this the loop waits, so memory stays bounded.
MAX_PENDING_VARIANTS = 4
# Threads that encode and write variants: Pillow, zlib and OpenCV release the GIL, so writing one variant
# overlaps augmenting the next; more than the cores would only compete with the augmentation itself.
WRITER_THREADS = 2


def augment_dataset(in_dir: Path, out_dir: Path, params: AugmentParams, cache_dir: Path | None = None,
                    fit: FitParams | None = None, lookup: RunLookup | None = None) -> AugmentReport:
    """Write `out_dir` (manifest + augmented files) from the annotated dataset in `in_dir`.

    With `cache_dir`, finished variants are kept there by what made them and put back by a link per file
    on a re-run (components/data/augment/cache.py); only new or changed parents are decoded and augmented.
    `fit` (default: the params' defaults) labels every row's fit and, when fit.size_augment.enabled, adds
    size variants of the paired train samples (components/data/augment/size.py). `lookup`: the whole-run
    lookup (whole_run.look_up_run) already made for these arguments, where a caller looked before importing this."""
    fit = fit or FitParams()
    size = fit.size_augment
    cache = digests = whole_run = None
    code = ""
    if cache_dir is not None:
        lookup = lookup or look_up_run(in_dir, out_dir, params, fit, cache_dir)
        if lookup.report is not None:  # nothing this run depends on changed: its outputs and manifest are back
            return lookup.report
        cache, digests, whole_run, code = lookup.cache, lookup.digests, lookup.key, lookup.code
    df = read_manifest(in_dir)  # first: a missing or broken manifest is told before seconds of imports
    # After the whole-run lookup: a run record exists only for params a run of this code checked, and checking
    # builds every transform (albumentations, and the torch it imports: seconds of a cached command's start).
    check(params)
    clear_outputs(out_dir)
    report = AugmentReport(inputs=len(df))
    rows = [relink(df, in_dir, out_dir)]
    todo = df[(df["status"] == "ok") & (df["split"] == "train")] if params.enabled or size.enabled else df.iloc[0:0]
    parents = [{k: (None if isinstance(v, float) and math.isnan(v) else v) for k, v in parent.to_dict().items()}
               for _, parent in todo.iterrows()]
    # Variant v of a parent is the same whatever variants_per_sample is: raising it reuses the ones made.
    settings = {
        "transform": params.model_dump(mode="json", exclude={"variants_per_sample", "cache_dir", "enabled",
                                                             *PLACEMENT}),
        "size": {"seed": params.seed, **size.model_dump(mode="json", exclude={"variants_per_sample", "enabled"})},
    }
    plans = [_plan(parent, in_dir, out_dir, _jobs(parent, params, size), cache, settings, code, digests)
             for parent in parents]
    if digests is not None:
        digests.save()
    report.cached = sum(1 for plan in plans for row in plan.cached if row is not None)
    if params.executor == "ray" and any(plan.missing for plan in plans):
        from components.data.augment.executors.ray_executor import augment_on_ray

        # The workers' variants land in the cache; planning again links them in, and the loop below assembles
        # the manifest from them exactly as it does from a local run's cached variants.
        augment_on_ray([(parent, plan.keys) for parent, plan in zip(parents, plans) if plan.missing], in_dir,
                       out_dir, params, fit, cache, report)
        plans = [_plan(parent, in_dir, out_dir, plan.jobs, cache, settings, code) if plan.missing else plan
                 for parent, plan in zip(parents, plans)]
    needed = [i for i, plan in enumerate(plans) if plan.missing]
    slots: list[dict | Future] = []
    with ThreadPoolExecutor(1, thread_name_prefix="augment-read") as reader, \
            ThreadPoolExecutor(WRITER_THREADS, thread_name_prefix="augment-write") as writer:
        # A parent's files are decoded on the reader thread while the one before it is augmented.
        loading = {i: reader.submit(load_sample, parents[i], in_dir) for i in needed[:1]}
        ahead = dict(zip(needed, needed[1:]))
        for index, parent_row in enumerate(progress(parents, desc="augment", unit="sample")):
            plan = plans[index]
            sample = None
            if plan.missing:
                if index in ahead:
                    loading[ahead[index]] = reader.submit(load_sample, parents[ahead[index]], in_dir)
                try:
                    sample = loading.pop(index).result()
                except (OSError, ValueError, KeyError) as exc:  # a missing or unreadable map: keep the parent only
                    report.failed.append(f"{parent_row['sample_id']}: {exc}")
                    continue
            report.augmented_parents += int(bool(plan.jobs))
            for (kind, variant), key, cached in zip(plan.jobs, plan.keys, plan.cached):
                if cached is not None:
                    slots.append(cached)
                    report.variants += 1
                    report.size_variants += int(kind == SIZE)
                    continue
                try:
                    augmented, how = _make_variant(kind, variant, sample, parent_row, params, fit)
                except ValueError as exc:  # e.g. no worn garment in the parse to resize
                    report.failed.append(f"{parent_row['sample_id']} ({kind} variant {variant}): {exc}")
                    continue
                text = to_json(how)
                sid = hashlib.sha256(f"{parent_row['sample_id']}:{text}".encode()).hexdigest()[:16]
                row = {k: v for k, v in parent_row.items() if k not in PATH_COLUMNS}
                for stat in STAT_COLUMNS:
                    if stat != "n_people":
                        row[stat] = None  # recomputed below from the moved maps, never copied from the parent
                row.update(sample_id=sid, parent_id=parent_row["sample_id"], augmentation=text,
                           split=parent_row["split"], status="ok", quarantine_reason=None)
                pending = [f for f in slots if isinstance(f, Future) and not f.done()]
                while len(pending) >= MAX_PENDING_VARIANTS:
                    wait(pending, return_when=FIRST_COMPLETED)
                    pending = [f for f in pending if not f.done()]
                # `augmented` is never modified after this point, so the writer may read it concurrently.
                slots.append(writer.submit(_finished_row, row, augmented, parent_row, sid, out_dir, cache, key))
                report.variants += 1
                report.size_variants += int(kind == SIZE)
    new_rows = [slot.result() if isinstance(slot, Future) else slot for slot in slots]
    if new_rows:
        rows.append(pd.DataFrame(new_rows))
    manifest = pd.concat(rows, ignore_index=True) if len(rows) > 1 else rows[0]
    # Labels from the ratios and the current thresholds, for input rows and variants alike.
    manifest[FIT_LABEL_COLUMN] = fit_labels(manifest, fit)
    write_manifest(manifest, out_dir)
    if whole_run is not None and not report.failed and all(plan.files is not None for plan in plans):
        inputs = {rel: sha for plan in plans for rel, sha in plan.files.items()}
        inputs[MANIFEST_FILENAME] = digests.sha256(in_dir / MANIFEST_FILENAME)
        cache.save_run(whole_run, inputs, out_dir, {"inputs": report.inputs, "variants": report.variants,
                                                    "augmented_parents": report.augmented_parents,
                                                    "size_variants": report.size_variants})
        digests.save()
    return report


TRANSFORM, SIZE = "transform", "size"


def _jobs(parent_row: dict, params: AugmentParams, size) -> list[tuple[str, int]]:
    """The variants to make of a parent: (kind, number). Size variants only where the photo shows the garment."""
    jobs = [(TRANSFORM, v) for v in range(params.variants_per_sample if params.enabled else 0)]
    if size.enabled and garment_worn(parent_row.get("pairing")) and parent_row["category"] in size.scale:
        jobs += [(SIZE, v) for v in range(size.variants_per_sample)]
    return jobs


def _make_variant(kind: str, variant: int, sample: SampleArrays, parent_row: dict, params: AugmentParams,
                  fit: FitParams) -> tuple[SampleArrays, dict]:
    """One variant's arrays and its JSON-ready description."""
    if kind == TRANSFORM:
        seed = variant_seed(params.seed, parent_row["sample_id"], variant)
        augmented, how = augment_sample(sample, params, seed)
        return augmented, {"variant": variant, **how}
    size = fit.size_augment
    seed = variant_seed(params.seed, f"size:{parent_row['sample_id']}", variant)
    sx, sy = draw_scale(size.scale[parent_row["category"]], size.min_width_change, np.random.default_rng(seed))
    augmented = rescale_garment(sample, parent_row["category"], sx, sy, size.agnostic_margin_px)
    return augmented, {"kind": SIZE, "variant": variant, "seed": seed, "scale": {"width": sx, "length": sy}}


@dataclass
class _Plan:
    """One parent's variants: what each is, its cache key, and the rows already cached (None: to be made)."""

    jobs: list[tuple[str, int]]
    keys: list[str]
    cached: list[dict | None]
    files: dict[str, str] | None = None  # the parent's files' sha256 by path, when hashed (a whole run's inputs)

    @property
    def missing(self) -> bool:
        """Whether any variant must be augmented (so the parent's files must be decoded)."""
        return any(row is None for row in self.cached)


def _plan(parent_row: dict, in_dir: Path, out_dir: Path, jobs: list[tuple[str, int]], cache: AugmentCache | None,
          settings: dict, code: str, digests=None) -> _Plan:
    """Which variants of `parent_row` the cache holds (restoring their files into `out_dir`); `digests`
    (a FileDigests) remembers the parents' files' sha256 by size and mtime."""
    n = len(jobs)
    if cache is None:
        return _Plan(jobs, [""] * n, [None] * n)
    sha = digests.sha256 if digests is not None else sha256_file
    try:
        files = {col: sha(in_dir / parent_row[col]) for col in PATH_COLUMNS if parent_row.get(col)}
    except OSError:
        return _Plan(jobs, [""] * n, [None] * n)  # a missing file: the load reports it as the reason
    # The label is not part of a variant (it is applied to the whole manifest from the thresholds).
    row = {k: v for k, v in parent_row.items() if k != FIT_LABEL_COLUMN}
    bases = {kind: parent_key(row, files, settings[kind], code) for kind in {k for k, _ in jobs}}
    keys = [variant_key(bases[kind], v) if kind == TRANSFORM else variant_key(bases[kind], f"{kind}:{v}")
            for kind, v in jobs]
    return _Plan(jobs, keys, [cache.load(k, out_dir) for k in keys],
                 {parent_row[col]: sha for col, sha in files.items()})


def _finished_row(row: dict, augmented: SampleArrays, parent_row: dict, sid: str, out_dir: Path,
                  cache: AugmentCache | None, key: str) -> dict:
    """`row` completed with the variant's files (written here, on a writer thread) and statistics; cached."""
    written = _write(augmented, parent_row, parent_row["split"], sid, out_dir)
    done = {**row, **written}
    if cache is not None:
        cache.save(key, done, out_dir, [written[c] for c in PATH_COLUMNS if written.get(c)])
    return done
