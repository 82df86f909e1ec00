"""Annotate shards on Ray actors: the cluster RAY_ADDRESS names, or a Ray instance started here when it is unset.

Each actor is one annotator process holding the engine's worker state (models load once per actor, on the
first shard that needs them) with its resources from `annotate.ray` (fractional GPUs allowed). The driver
keeps two shards queued per actor, packs each shard's photos with it (shipping.py: no shared filesystem),
and records what comes back in its own cache, so the manifest is assembled by the same code as a local run.

The driver never sends what its own cache holds. With `annotate.ray.shared_cache` (s3://...), the workers also
share one cache on S3 (components/executors/shared_cache.py): a worker takes the samples and person maps it
finds there instead of annotating them, and puts there what it annotated, so a worker on any machine skips
work another run did, without the driver shipping it.

A worker killed mid-shard loses nothing: that shard's results never came back, so nothing of it was written;
the driver starts a fresh actor (anywhere the cluster has room) and resubmits the shard, up to `max_retries`
times, then quarantines its samples uncached so the next run tries them again (components/executors/ray_pool.py).
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Callable
from pathlib import Path

from components.annotate.cache import AnnotateCache
from components.annotate.engine import (
    SampleResult,
    _close_worker,
    _init_worker,
    annotator_identities,
    render_code_digest,
)
from components.annotate.executors.shipping import (
    ShardInputs,
    ShardOutputs,
    from_shared_cache,
    land_shard,
    pack_shard,
    run_shipped_shard,
    to_shared_cache,
)
from components.annotate.params import AnnotateParams
from components.annotate.sample import SampleTask
from components.executors.ray_pool import node_id, on_pool, refuse_mismatch, run_shards, scratch_folder

# Worker processes have no copy of the photos: the scratch folder holds one shard's inputs and outputs.
SCRATCH_PREFIX = "vton-annotate-"


class ShardActor:
    """One annotator process on the cluster, running shipped shards in a private scratch folder."""

    def __init__(self, settings: AnnotateParams, versions: dict[str, str]) -> None:
        self.settings = settings
        self.scratch = scratch_folder(SCRATCH_PREFIX)
        _init_worker(settings, str(self.scratch / "cache"), str(self.scratch / "out"), versions)
        self.shared = None
        if settings.ray.shared_cache:
            from components.executors.shared_cache import SharedCache

            self.shared = SharedCache(settings.ray.shared_cache, "annotate")

    def describe(self) -> dict:
        """What this worker would compute with: its render code, its annotators, and where it runs.

        Weights missing on this node are pulled from the model store first when VTON_MODELS_AUTO_PULL=1."""
        _ensure_weights(self.settings)
        return {"code": render_code_digest(self.settings), "annotators": annotator_identities(self.settings),
                "pid": os.getpid(), "node": node_id()}

    def run(self, inputs: ShardInputs) -> ShardOutputs:
        """Annotate one shipped shard and return its rows and files (with a shared cache: what it holds is
        taken from there, and what was annotated here is put there)."""
        if self.shared is None:
            return run_shipped_shard(inputs, self.scratch)
        hits, inputs = from_shared_cache(inputs, self.shared)
        outputs = run_shipped_shard(inputs, self.scratch) if inputs.tasks else ShardOutputs([])
        to_shared_cache(outputs, self.shared)
        outputs.samples = hits + outputs.samples
        return outputs

    def close(self) -> None:
        """Release the models and threads and delete the scratch folder."""
        _close_worker()
        shutil.rmtree(self.scratch, ignore_errors=True)


def _ensure_weights(settings: AnnotateParams) -> None:
    """Make the selected annotators' weights present on this node (pulled when the model store may pull)."""
    from components.annotate.annotators import annotator_class, backends_for
    from components.models.store import Catalog, ensure_weights

    catalog = Catalog.load()
    for role, backend in backends_for(settings):
        for name in annotator_class(role, backend).weights:
            if catalog.get(name).scheme != "package":
                ensure_weights(name, catalog)


def _given_up(shard: list[SampleTask], deaths: int, exc: Exception) -> list[SampleResult]:
    """A shard whose workers kept dying: its samples quarantined uncached, so the next run tries them again."""
    reason = (f"annotate error: the Ray worker annotating this shard died {deaths} time{'s' if deaths > 1 else ''} "
              f"({type(exc).__name__}); run again, and check the workers' memory")
    return [SampleResult(t.sample_id, {"status": "quarantined", "quarantine_reason": reason}) for t in shard]


def run_on_ray(shards: list[list[SampleTask]], settings: AnnotateParams, versions: dict[str, str],
               cache: AnnotateCache, out_dir: Path, collect: Callable[[list[SampleResult]], None]) -> int:
    """Annotate `shards` on Ray actors, feeding each returned shard to `collect`; return how many were retried."""
    opts = settings.ray
    here = {"code": render_code_digest(settings), "annotators": versions}

    def check(seen: list[dict]) -> None:
        refuse_mismatch("annotate", seen, here, ("code", "annotators"))

    def work(pool) -> int:
        return run_shards(
            len(shards), pool,
            send=lambda actor, i: actor.run.remote(pack_shard(shards[i], cache)),
            land=lambda i, outputs: collect(land_shard(outputs, cache, out_dir)),
            give_up=lambda i, deaths, exc: collect(_given_up(shards[i], deaths, exc)),
            max_retries=opts.max_retries, stall_timeout_s=opts.stall_timeout_s)

    return on_pool(ShardActor, (settings, versions), min(opts.actors, len(shards)), opts.num_cpus, opts.num_gpus,
                   "annotate", check, work)
