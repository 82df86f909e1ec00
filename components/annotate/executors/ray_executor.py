"""Annotate shards on Ray actors: the cluster RAY_ADDRESS names, or a Ray instance started here when it is unset.

Each actor is one annotator process holding the engine's worker state (models load once per actor, on the
first shard that needs them) with its resources from `annotate.ray` (fractional GPUs allowed). The driver
keeps two shards queued per actor, packs each shard's photos with it (shipping.py: no shared filesystem),
and records what comes back in its own cache, so the manifest is assembled by the same code as a local run.

The cache stays with the driver by design: it never sends cached work, so a worker never needs to see the
cache. A worker killed mid-shard loses nothing: that shard's results never came back, so nothing of it was
written; the driver starts a fresh actor (anywhere the cluster has room) and resubmits the shard, up to
`max_retries` times, then quarantines its samples uncached so the next run tries them again.
"""

from __future__ import annotations

import logging
import os
import shutil
import tempfile
import time
from collections import deque
from collections.abc import Callable
from pathlib import Path

import ray
from ray.exceptions import GetTimeoutError, RayActorError, RayTaskError

from components.annotate.cache import AnnotateCache
from components.annotate.engine import (
    SampleResult,
    _close_worker,
    _init_worker,
    annotator_identities,
    render_code_digest,
)
from components.annotate.executors.shipping import ShardInputs, ShardOutputs, land_shard, pack_shard, run_shipped_shard
from components.annotate.params import AnnotateParams
from components.annotate.sample import SampleTask
from components.errors import ConfigError, VtonError

# Shards queued per actor: one running, one waiting, so an actor never idles while the driver packs the next.
SHARDS_PER_ACTOR = 2
# How long the actors may take to be placed and start (an autoscaling cluster may first add a node).
ACTOR_START_TIMEOUT_S = float(os.environ.get("VTON_RAY_ACTOR_START_TIMEOUT_S", "600"))
# Worker processes have no copy of the photos: the scratch folder holds one shard's inputs and outputs.
SCRATCH_PREFIX = "vton-annotate-"


class ShardActor:
    """One annotator process on the cluster, running shipped shards in a private scratch folder."""

    def __init__(self, settings: AnnotateParams, versions: dict[str, str]) -> None:
        self.settings = settings
        _remove_dead_scratch()
        self.scratch = Path(tempfile.mkdtemp(prefix=f"{SCRATCH_PREFIX}{os.getpid()}-"))
        _init_worker(settings, str(self.scratch / "cache"), str(self.scratch / "out"), versions)

    def describe(self) -> dict:
        """What this worker would compute with: its render code, its annotators, and where it runs.

        Weights missing on this node are pulled from the model store first when VTON_MODELS_AUTO_PULL=1."""
        _ensure_weights(self.settings)
        return {"code": render_code_digest(), "annotators": annotator_identities(self.settings),
                "pid": os.getpid(), "node": ray.get_runtime_context().get_node_id()}

    def run(self, inputs: ShardInputs) -> ShardOutputs:
        """Annotate one shipped shard and return its rows and files."""
        return run_shipped_shard(inputs, self.scratch)

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


def _remove_dead_scratch() -> None:
    """Delete the scratch folders of actor processes on this machine that died (killed mid-shard, they left one)."""
    for folder in Path(tempfile.gettempdir()).glob(f"{SCRATCH_PREFIX}*-*"):
        pid = folder.name[len(SCRATCH_PREFIX):].split("-", 1)[0]
        if pid.isdigit() and int(pid) != os.getpid() and not _alive(int(pid)):
            shutil.rmtree(folder, ignore_errors=True)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True  # another user's process
    return True


# Ray Client's words when the head could not start this client's server (ray/util/client/server/proxier.py).
CLIENT_SERVER_FAILED = "Starting Ray client server failed"
CLIENT_START_ATTEMPTS = 3


def connect() -> bool:
    """Join the cluster RAY_ADDRESS names, or start a local Ray when it is unset; True if this call started it."""
    if ray.is_initialized():
        return False
    address = os.environ.get("RAY_ADDRESS") or "local"  # "local": never join a cluster merely found on this host
    if address.startswith("ray://"):
        kwargs = {}  # Ray Client (a pod outside the cluster): other ray.init options would go to the server
    elif address == "local":
        kwargs = {"log_to_driver": False, "logging_level": logging.WARNING, "include_dashboard": False}
    else:  # host:port of the GCS: this machine is a node of that cluster
        kwargs = {"log_to_driver": False, "logging_level": logging.WARNING}
    for attempt in range(1, CLIENT_START_ATTEMPTS + 1):
        try:
            ray.init(address=address, **kwargs)
            break
        except (ConnectionError, ValueError, RuntimeError) as exc:
            # A failed init leaves half of Ray's process state set up; without this the next connect in the same
            # process fails on Ray's internal assertions instead of connecting.
            ray.shutdown()
            # Ray Client's head starts a server per client, which can fail to come up on a loaded head: try again.
            if address.startswith("ray://") and CLIENT_SERVER_FAILED in str(exc) and attempt < CLIENT_START_ATTEMPTS:
                time.sleep(2.0 * attempt)
                continue
            raise ConfigError(f"cannot reach the Ray cluster at RAY_ADDRESS={address}: {exc}",
                              hint="start it (`ray start --head`, or the KubeRay RayCluster in infra/k8s/ray), fix "
                                   "RAY_ADDRESS, or unset it to run on a local Ray; a cluster with token "
                                   "authentication also needs RAY_AUTH_MODE=token and RAY_AUTH_TOKEN (or "
                                   "RAY_AUTH_TOKEN_PATH)") from None
    return True


class _Actors:
    """The actor slots: each holds a live actor, replaced by a fresh one when it dies."""

    def __init__(self, settings: AnnotateParams, versions: dict[str, str], n: int) -> None:
        opts = settings.ray
        self._cls = ray.remote(ShardActor).options(
            num_cpus=opts.num_cpus, num_gpus=opts.num_gpus, max_restarts=0, max_task_retries=0,
            scheduling_strategy="SPREAD")  # the driver resubmits itself, so it knows which shards were retried
        self._args = (settings, versions)
        self.handles = [self._cls.remote(*self._args) for _ in range(n)]

    def check(self) -> None:
        """Wait until the actors are placed and check they run this driver's code and models."""
        refs = [h.describe.remote() for h in self.handles]
        ready, _ = ray.wait(refs, num_returns=len(refs), timeout=ACTOR_START_TIMEOUT_S)
        if len(ready) < len(refs):
            opts = self._args[0].ray
            raise ConfigError(
                f"only {len(ready)} of {len(refs)} annotate actors started on the Ray cluster within "
                f"{ACTOR_START_TIMEOUT_S:.0f} s (each asks for num_cpus={opts.num_cpus}, num_gpus={opts.num_gpus})",
                hint="add nodes with those resources, or lower annotate.ray.actors / num_cpus / num_gpus")
        try:
            seen = ray.get(refs)
        except RayTaskError as exc:  # describe() raised: missing weights, say, with its own fix
            if isinstance(exc.cause, VtonError):
                raise type(exc.cause)(f"on a Ray worker: {exc.cause.message}", hint=exc.cause.hint) from None
            raise
        except RayActorError as exc:
            raise ConfigError(f"an annotate actor failed to start on the Ray cluster: {exc}",
                              hint="the worker image must hold this project's code and dependencies "
                                   "(infra/Dockerfile, infra/README.md)") from None
        here = {"code": render_code_digest(), "annotators": self._args[1]}
        for info in seen:
            if info["code"] != here["code"] or info["annotators"] != here["annotators"]:
                raise ConfigError(
                    f"the Ray worker on node {info['node']} runs different annotate code or models than this "
                    f"driver (code {info['code'][:12]} vs {here['code'][:12]}, annotators {info['annotators']} "
                    f"vs {here['annotators']}): its outputs would not match a local run",
                    hint="build the worker image from this commit and roll it out (infra/README.md)")

    def replace(self, slot: int) -> None:
        """Put a fresh actor in `slot` (the old one died; Ray places the new one wherever there is room)."""
        ray.kill(self.handles[slot], no_restart=True)
        self.handles[slot] = self._cls.remote(*self._args)

    def close(self) -> None:
        """Let every actor delete its scratch folder, then end it."""
        try:
            ray.get([h.close.remote() for h in self.handles], timeout=60)
        except (RayActorError, GetTimeoutError):
            pass  # a dead actor has nothing left to close
        for h in self.handles:
            ray.kill(h, no_restart=True)


def _given_up(shard: list[SampleTask], deaths: int, exc: Exception) -> list[SampleResult]:
    """A shard whose workers kept dying: its samples quarantined uncached, so the next run tries them again."""
    reason = (f"annotate error: the Ray worker annotating this shard died {deaths} time{'s' if deaths > 1 else ''} "
              f"({type(exc).__name__}); run again, and check the workers' memory")
    return [SampleResult(t.sample_id, {"status": "quarantined", "quarantine_reason": reason}) for t in shard]


def run_on_ray(shards: list[list[SampleTask]], settings: AnnotateParams, versions: dict[str, str],
               cache: AnnotateCache, out_dir: Path, collect: Callable[[list[SampleResult]], None]) -> int:
    """Annotate `shards` on Ray actors, feeding each returned shard to `collect`; return how many were retried."""
    started = connect()
    actors = None
    try:
        actors = _Actors(settings, versions, min(settings.ray.actors, len(shards)))
        actors.check()
        return _schedule(shards, settings.ray.max_retries, actors, cache, out_dir, collect)
    finally:
        if actors is not None:
            actors.close()
        if started:
            ray.shutdown()


def _schedule(shards: list[list[SampleTask]], max_retries: int, actors: _Actors, cache: AnnotateCache,
              out_dir: Path, collect: Callable[[list[SampleResult]], None]) -> int:
    """Keep SHARDS_PER_ACTOR shards queued on every actor until all are back; resubmit those whose actor died.

    An actor runs its shards in order, so when it dies the oldest shard it holds is the one it was running:
    that one counts a death (and towards max_retries); the ones queued behind it never started and are simply
    sent again."""
    waiting = deque(range(len(shards)))
    deaths = [0] * len(shards)
    retried: set[int] = set()
    queued: list[deque] = [deque() for _ in actors.handles]  # per slot: (ObjectRef, shard index), oldest first

    def submit() -> None:
        for depth in range(1, SHARDS_PER_ACTOR + 1):  # fill every actor to one, then to two
            for slot, held in enumerate(queued):
                if waiting and len(held) < depth:
                    i = waiting.popleft()
                    held.append((actors.handles[slot].run.remote(pack_shard(shards[i], cache)), i))

    submit()
    while any(queued):
        slot_of = {ref: slot for slot, held in enumerate(queued) for ref, _ in held}
        (ready,), _ = ray.wait(list(slot_of), num_returns=1)
        slot = slot_of[ready]
        ref, i = queued[slot].popleft()  # the oldest: a later one is ready first only when the actor died
        try:
            outputs = ray.get(ref)
        except RayActorError as exc:
            deaths[i] += 1
            retried.add(i)
            never_started = [j for _, j in queued[slot]]
            queued[slot].clear()
            waiting.extendleft(reversed(never_started))
            if deaths[i] > max_retries:
                collect(_given_up(shards[i], deaths[i], exc))
            else:
                waiting.appendleft(i)
            actors.replace(slot)
            submit()
            continue
        submit()  # before landing: the actor gets its next shard while this one is written here
        collect(land_shard(outputs, cache, out_dir))
    return len(retried)
