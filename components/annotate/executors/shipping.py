"""A shard's inputs carried to a worker on another machine, and its finished files carried back.

The tasks name files by absolute paths of the driver's machine; a worker elsewhere has no such paths and no
shared filesystem. So the driver packs the photo bytes (and the person maps its cache already holds, so no
model runs twice) with the shard; the worker writes them into a scratch folder, runs the engine's own
`run_shard` there with a scratch cache, and returns each sample's row, whether it was recorded, and the bytes
of its files. The driver writes those files into the output folder and records each sample in its cache,
once, only when the whole shard came back: a shard whose worker died never wrote anything.
"""

from __future__ import annotations

import dataclasses
import os
import shutil
from dataclasses import dataclass, field
from pathlib import Path

from components.annotate import layout
from components.annotate.cache import AnnotateCache
from components.annotate.engine import SampleResult, run_shard
from components.annotate.sample import SampleTask


@dataclass
class ShardInputs:
    """One shard as it travels to a worker."""

    tasks: list[SampleTask]
    files: dict[str, bytes] = field(default_factory=dict)  # driver path -> bytes, for the photos that exist
    maps: dict[str, bytes] = field(default_factory=dict)  # person_key -> the driver cache's maps entry


@dataclass
class ShippedSample:
    """One finished sample as it travels back: its result, whether to record it, and its files."""

    sample_key: str
    result: SampleResult
    recorded: bool  # False: an error the next run should retry, so the driver does not cache it either
    files: dict[str, bytes] = field(default_factory=dict)  # path relative to the output folder -> bytes


@dataclass
class ShardOutputs:
    """One shard as it travels back to the driver."""

    samples: list[ShippedSample]
    maps: dict[str, bytes] = field(default_factory=dict)  # person maps entries the worker computed


# ---- driver side -------------------------------------------------------------------------------------


def pack_shard(shard: list[SampleTask], cache: AnnotateCache) -> ShardInputs:
    """The shard with its photos' bytes and the person maps `cache` already has.

    A photo that cannot be read here is not packed: the worker then meets the same missing path and
    quarantines its samples with the same reason as a local run."""
    inputs = ShardInputs(tasks=list(shard))
    for task in shard:
        for path in (task.person_file, task.garment_file, task.cloth_mask_file):
            if path is not None and path not in inputs.files:
                try:
                    inputs.files[path] = Path(path).read_bytes()
                except OSError:
                    pass
        if task.person_key not in inputs.maps:
            entry = cache.maps_entry(task.person_key)
            if entry is not None:
                inputs.maps[task.person_key] = entry
    return inputs


def _write_replacing(path: Path, data: bytes) -> None:
    """Write `path` as a new file: an old output there may be a hard link to a cached blob, never edit it."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    tmp.write_bytes(data)
    tmp.replace(path)


def land_shard(outputs: ShardOutputs, cache: AnnotateCache, out_dir: Path) -> list[SampleResult]:
    """Write a returned shard's files into `out_dir`, record its samples in `cache`, and return the results."""
    for pkey, entry in outputs.maps.items():
        if cache.maps_entry(pkey) is None:
            cache.put_maps_entry(pkey, entry)
    results = []
    for sample in outputs.samples:
        for rel, data in sample.files.items():
            _write_replacing(out_dir / rel, data)
        if sample.recorded:  # once all its files are on disk, as the local engine does
            cache.save_record(sample.sample_key, sample.result.row, out_dir, list(sample.files))
        results.append(sample.result)
    return results


# ---- worker side -------------------------------------------------------------------------------------


def _files_of(row: dict) -> list[str]:
    """The output files a finished row lists (relative to the output folder)."""
    return [row[col] for col in layout.PATHS if isinstance(row.get(col), str)]


def _unscratched(row: dict, renames: dict[str, str]) -> dict:
    """`row` with every scratch path in its text (an error message naming the file) put back to the driver's."""
    out = {}
    for key, value in row.items():
        if isinstance(value, str):
            for local, original in renames.items():
                value = value.replace(local, original)
        out[key] = value
    return out


def run_shipped_shard(inputs: ShardInputs, scratch: Path) -> ShardOutputs:
    """Run a shipped shard on this worker (the engine's worker state must point at `scratch`) and pack the results.

    The scratch inputs, outputs and cache entries are deleted afterwards: the driver keeps the only copy."""
    staged, cache_dir, out_dir = scratch / "in", scratch / "cache", scratch / "out"
    cache = AnnotateCache(cache_dir)
    try:
        staged.mkdir(parents=True, exist_ok=True)
        local = {}
        for i, (path, data) in enumerate(inputs.files.items()):
            local[path] = str(staged / f"{i}{Path(path).suffix}")
            Path(local[path]).write_bytes(data)
        for pkey, entry in inputs.maps.items():
            cache.put_maps_entry(pkey, entry)
        tasks = [dataclasses.replace(t, person_file=local.get(t.person_file, t.person_file),
                                     garment_file=local.get(t.garment_file, t.garment_file) if t.garment_file else None,
                                     cloth_mask_file=local.get(t.cloth_mask_file, t.cloth_mask_file)
                                     if t.cloth_mask_file else None)
                 for t in inputs.tasks]
        renames = {v: k for k, v in local.items()}
        by_id = {t.sample_id: t for t in tasks}
        samples = []
        for result in run_shard(tasks):
            task = by_id[result.sample_id]
            recorded = cache.load_record(task.sample_key, out_dir) is not None
            files = {rel: (out_dir / rel).read_bytes() for rel in _files_of(result.row)} if recorded else {}
            result = dataclasses.replace(result, row=_unscratched(result.row, renames))
            samples.append(ShippedSample(task.sample_key, result, recorded, files))
        maps = {}
        for pkey in {t.person_key for t in tasks} - set(inputs.maps):
            entry = cache.maps_entry(pkey)
            if entry is not None:
                maps[pkey] = entry
        return ShardOutputs(samples, maps)
    finally:
        for folder in (staged, out_dir, cache_dir):
            shutil.rmtree(folder, ignore_errors=True)


# ---- the shared cache (worker side) ------------------------------------------------------------------

SAMPLES, MAPS = "samples", "maps"


def from_shared_cache(inputs: ShardInputs, shared) -> tuple[list[ShippedSample], ShardInputs]:
    """(the samples `shared` holds, as shipped back; the shard left to annotate, with the person maps `shared`
    holds added to those the driver packed)."""
    hits, todo = [], []
    for task in inputs.tasks:
        found = shared.get_record(SAMPLES, task.sample_key)
        if found is None:
            todo.append(task)
            continue
        row, files = found
        hits.append(ShippedSample(task.sample_key, SampleResult(task.sample_id, row, shared=True), True, files))
    maps = dict(inputs.maps)
    for pkey in {t.person_key for t in todo} - set(maps):
        entry = shared.get(MAPS, pkey)
        if entry is not None:
            maps[pkey] = entry
    return hits, dataclasses.replace(inputs, tasks=todo, maps=maps)


def to_shared_cache(outputs: ShardOutputs, shared) -> None:
    """Put what this worker annotated into `shared`: the person maps, then each recorded sample with its files."""
    for pkey, entry in outputs.maps.items():
        shared.put(MAPS, pkey, entry)
    for sample in outputs.samples:
        if sample.recorded:
            shared.put_record(SAMPLES, sample.sample_key, sample.result.row, sample.files)
