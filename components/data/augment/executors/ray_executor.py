"""Augment variants on Ray actors: the parents that need variants are shipped in shards, made by the same code.

The driver plans as a local run does (its cache answers first) and ships each shard's parent rows with the
bytes of their files (no shared filesystem). The actor writes them into a scratch dataset and runs the local
`augment_dataset` on it with a scratch cache, so every variant is made by exactly the code a local run uses,
under the same cache key (which the actor checks: a key the driver did not compute means other inputs). What
comes back is each variant's row and files, which the driver lands in its cache; run.py then plans again and
its ordinary loop links the variants in and assembles the manifest exactly as from a local run's cache.

With `augment.ray.shared_cache` (s3://...), an actor first looks each variant up there and uploads what it
made, so a worker on any machine skips variants another run made. A worker killed mid-shard is replaced and
its shard resubmitted (components/executors/ray_pool.py); a shard past `max_retries` is left to the driver,
whose loop then makes those variants itself (logged).
"""

from __future__ import annotations

import logging
import os
import shutil
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from components.data.augment.cache import AugmentCache, code_digest
from components.data.params import AugmentParams
from components.errors import ConfigError
from components.fit.params import FitParams
from components.executors.ray_pool import node_id, on_pool, refuse_mismatch, run_shards, scratch_folder
from components.progress import progress_bar

log = logging.getLogger(__name__)
SCRATCH_PREFIX = "vton-augment-"
SHARED_KIND = "variants"


@dataclass
class AugmentShard:
    """Parents as they travel to a worker: their rows, their variants' cache keys and their files' bytes."""

    parents: list[dict]
    keys: list[list[str]]
    files: dict[str, bytes] = field(default_factory=dict)  # path relative to the dataset -> bytes


@dataclass
class ShippedVariant:
    """One finished variant as it travels back: its cache key, manifest row and files (relative paths)."""

    key: str
    row: dict
    files: dict[str, bytes]


@dataclass
class AugmentOutputs:
    """A shard as it travels back."""

    variants: list[ShippedVariant]
    shared_hits: int = 0  # variants found in the shared cache instead of being made


def _safe(rel: str) -> bool:
    """A manifest path that stays inside the dataset folder (never written outside the worker's scratch)."""
    p = Path(rel)
    return not p.is_absolute() and ".." not in p.parts


def _files_of(row: dict) -> list[str]:
    from components.data.augment.run import PATH_COLUMNS

    return [row[c] for c in PATH_COLUMNS if isinstance(row.get(c), str) and _safe(row[c])]


def pack(parents: list[dict], keys: list[list[str]], in_dir: Path) -> AugmentShard:
    """The shard with its parents' files; one that cannot be read here is not packed (the load then fails alike)."""
    shard = AugmentShard(parents, keys)
    for row in parents:
        for rel in _files_of(row):
            if rel not in shard.files:
                try:
                    shard.files[rel] = (in_dir / rel).read_bytes()
                except OSError:
                    pass
    return shard


class AugmentActor:
    """One augment process on the cluster, making shipped parents' variants in a private scratch folder."""

    def __init__(self, params: AugmentParams, fit: FitParams) -> None:
        self.params = params.model_copy(update={"executor": "local"})
        self.fit = fit
        self.scratch = scratch_folder(SCRATCH_PREFIX)
        self.shared = None
        if params.ray.shared_cache:
            from components.executors.shared_cache import SharedCache

            self.shared = SharedCache(params.ray.shared_cache, "augment")

    def describe(self) -> dict:
        """What this worker would make variants with: its code, and where it runs."""
        return {"code": code_digest(), "pid": os.getpid(), "node": node_id()}

    def run(self, shard: AugmentShard) -> AugmentOutputs:
        """Make the shard's variants (or find them in the shared cache) and return their rows and files."""
        out = AugmentOutputs([])
        todo: list[int] = []
        for i, keys in enumerate(shard.keys):
            found = [self.shared.get_record(SHARED_KIND, k) for k in keys] if self.shared is not None else [None]
            if all(f is not None for f in found):
                out.variants += [ShippedVariant(k, row, files) for k, (row, files) in zip(keys, found)]
                out.shared_hits += len(keys)
            else:
                todo.append(i)
        if todo:
            made = self._make([shard.parents[i] for i in todo], [shard.keys[i] for i in todo], shard.files)
            if self.shared is not None:
                for v in made:
                    self.shared.put_record(SHARED_KIND, v.key, v.row, v.files)
            out.variants += made
        return out

    def _make(self, parents: list[dict], keys: list[list[str]], files: dict[str, bytes]) -> list[ShippedVariant]:
        from components.data.augment.run import augment_dataset
        from components.manifest.schema import write_manifest

        in_dir, out_dir, cache_dir = self.scratch / "in", self.scratch / "out", self.scratch / "cache"
        try:
            for rel, data in files.items():
                (in_dir / rel).parent.mkdir(parents=True, exist_ok=True)
                (in_dir / rel).write_bytes(data)
            write_manifest(pd.DataFrame(parents), in_dir)
            report = augment_dataset(in_dir, out_dir, self.params, cache_dir, self.fit)
            # A parent or variant that failed here fails alike in the driver's own loop, which reports it.
            failed = {f.split(":", 1)[0].split(" ", 1)[0] for f in report.failed}
            cache = AugmentCache(cache_dir)
            made = []
            for parent, parent_keys in zip(parents, keys):
                for key in parent_keys:
                    record = cache.load(key, out_dir)
                    if record is None and parent["sample_id"] in failed:
                        continue  # that variant failed (no worn garment to resize, say)
                    if record is None:
                        raise RuntimeError(
                            f"augment worker on node {node_id()}: parent {parent['sample_id']} gave other cache "
                            f"keys here than on the driver, so its inputs differ; nothing of it was used")
                    made.append(ShippedVariant(key, record, {rel: (out_dir / rel).read_bytes()
                                                             for rel in _files_of(record)}))
            return made
        finally:
            for folder in (in_dir, out_dir, cache_dir):
                shutil.rmtree(folder, ignore_errors=True)

    def close(self) -> None:
        """Delete the scratch folder."""
        shutil.rmtree(self.scratch, ignore_errors=True)


def _write_replacing(path: Path, data: bytes) -> None:
    """Write `path` as a new file: an old output there may be a hard link to a cached blob, never edit it."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    tmp.write_bytes(data)
    tmp.replace(path)


def augment_on_ray(todo: list[tuple[dict, list[str]]], in_dir: Path, out_dir: Path, params: AugmentParams,
                   fit: FitParams, cache: AugmentCache | None, report) -> None:
    """Make the variants of `todo` (parent row, its variants' cache keys) on Ray actors and land each in `cache`
    (files in `out_dir`); the report gets the retried shards and the shared-cache hits."""
    if cache is None:
        raise ConfigError("augment.executor: ray lands the workers' variants through the augment cache, and this "
                          "run has none", hint="pass cache_dir (the stage passes augment.cache_dir)")
    todo = [(parent, keys) for parent, keys in todo if all(keys)]  # unhashable files: the local load reports them
    if not todo:
        return
    size = params.shard_size
    shards = [todo[i:i + size] for i in range(0, len(todo), size)]
    opts = params.ray
    here = {"code": code_digest()}
    bar = progress_bar(total=sum(len(keys) for _, keys in todo), desc="augment on ray", unit="variant")

    def send(actor, i: int):
        parents = [parent for parent, _ in shards[i]]
        return actor.run.remote(pack(parents, [keys for _, keys in shards[i]], in_dir))

    def land(i: int, outputs: AugmentOutputs) -> None:
        for v in outputs.variants:
            for rel, data in v.files.items():
                _write_replacing(out_dir / rel, data)
            cache.save(v.key, v.row, out_dir, list(v.files))
        report.shared_hits += outputs.shared_hits
        bar.update(len(outputs.variants))

    def give_up(i: int, deaths: int, exc: Exception) -> None:
        log.warning("augment: the Ray worker making %d parents' variants died %d times (%s); this process makes "
                    "them instead", len(shards[i]), deaths, type(exc).__name__)

    def work(pool) -> int:
        return run_shards(len(shards), pool, send, land, give_up, opts.max_retries,
                          opts.stall_timeout_s)

    try:
        report.retried_shards = on_pool(AugmentActor, (params, fit), min(opts.actors, len(shards)), opts.num_cpus,
                                        opts.num_gpus, "augment",
                                        lambda seen: refuse_mismatch("augment", seen, here, ("code",)), work)
    finally:
        bar.close()
