"""Shards on Ray actors: join the cluster, keep a pool of actors, schedule shards with retries.

The cluster is the one RAY_ADDRESS names (host:port from a node, ray://head:10001 from a pod outside it), or
a Ray started in this process when it is unset. Each actor is one long-lived worker process holding a step's
models (loaded once per actor) with its CPU/GPU reservation (fractional GPUs allowed). The driver keeps
SHARDS_PER_ACTOR shards queued per actor, so an actor never idles while the driver lands the last one.

An actor killed mid-shard loses nothing: the shard's results never came back, so the driver wrote nothing of
it. The driver starts a fresh actor (wherever the cluster has room, another node if that one died) and
resubmits the shard, up to `max_retries` times; past that the step's `give_up` decides what its samples
become. Actors are never restarted by Ray itself (max_restarts=0): the driver resubmits, so it knows which
shards were retried and can say so.
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
from typing import Any

import ray
from ray.exceptions import GetTimeoutError, RayActorError, RayTaskError

from components.errors import ConfigError, VtonError
from components.processes import process_alive

# Shards queued per actor: one running, one waiting, so an actor never idles while the driver packs the next.
SHARDS_PER_ACTOR = 2
# How long the actors may take to be placed and start (an autoscaling cluster may first add a node).
ACTOR_START_TIMEOUT_S = float(os.environ.get("VTON_RAY_ACTOR_START_TIMEOUT_S", "600"))
# Ray Client's words when the head could not start this client's server (ray/util/client/server/proxier.py): it
# saw the server exit, or the server exited between the proxier's two looks at it and psutil found a zombie.
CLIENT_SERVER_FAILED = ("Starting Ray client server failed", "psutil.ZombieProcess")
CLIENT_START_ATTEMPTS = 3


def client_server_failed(address: str, exc: BaseException) -> bool:
    """True when `exc` says a Ray Client head could not start this client's server (worth another try)."""
    return address.startswith("ray://") and any(words in str(exc) for words in CLIENT_SERVER_FAILED)


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
            if client_server_failed(address, exc) and attempt < CLIENT_START_ATTEMPTS:
                time.sleep(2.0 * attempt)
                continue
            raise ConfigError(f"cannot reach the Ray cluster at RAY_ADDRESS={address}: {exc}",
                              hint="start it (`ray start --head`, or the KubeRay RayCluster in infra/k8s/ray), fix "
                                   "RAY_ADDRESS, or unset it to run on a local Ray; a cluster with token "
                                   "authentication also needs RAY_AUTH_MODE=token and RAY_AUTH_TOKEN (or "
                                   "RAY_AUTH_TOKEN_PATH)") from None
    return True


class ActorPool:
    """Actor slots of one class: each holds a live actor, replaced by a fresh one when it dies.

    The class needs `describe()` (what it computes with: checked against the driver before any work) and
    `close()` (release models, delete scratch)."""

    def __init__(self, cls: type, args: tuple, n: int, num_cpus: float, num_gpus: float, what: str) -> None:
        self.what = what  # "annotate", "augment", "evaluate": named in errors
        self.resources = {"num_cpus": num_cpus, "num_gpus": num_gpus}
        self._cls = ray.remote(cls).options(num_cpus=num_cpus, num_gpus=num_gpus, max_restarts=0,
                                            max_task_retries=0, scheduling_strategy="SPREAD")
        self._args = args
        self.handles = [self._cls.remote(*args) for _ in range(n)]

    def describe(self) -> list[dict]:
        """Wait until every actor is placed and started; what each one's describe() says."""
        refs = [h.describe.remote() for h in self.handles]
        ready, _ = ray.wait(refs, num_returns=len(refs), timeout=ACTOR_START_TIMEOUT_S)
        if len(ready) < len(refs):
            asks = ", ".join(f"{k}={v}" for k, v in self.resources.items())
            raise ConfigError(
                f"only {len(ready)} of {len(refs)} {self.what} actors started on the Ray cluster within "
                f"{ACTOR_START_TIMEOUT_S:.0f} s (each asks for {asks})",
                hint=f"add nodes with those resources, or lower {self.what}.ray.actors / num_cpus / num_gpus")
        try:
            return ray.get(refs)
        except RayTaskError as exc:  # describe() raised: missing weights, say, with its own fix
            raise_worker_error(exc)
        except RayActorError as exc:
            raise ConfigError(f"an {self.what} actor failed to start on the Ray cluster: {exc}",
                              hint="the worker image must hold this project's code and dependencies "
                                   "(infra/Dockerfile, infra/README.md)") from None

    def replace(self, slot: int) -> None:
        """Put a fresh actor in `slot` (the old one died; Ray places the new one wherever there is room)."""
        ray.kill(self.handles[slot], no_restart=True)
        self.handles[slot] = self._cls.remote(*self._args)

    def close(self, graceful: bool = True) -> None:
        """End every actor; `graceful` first lets each release its models and scratch folder (an actor runs its
        calls in order, so that waits for the shard it holds: not after an error, when a shard may hang)."""
        if graceful:
            try:
                ray.get([h.close.remote() for h in self.handles], timeout=60)
            except (RayActorError, GetTimeoutError):
                pass  # a dead actor has nothing left to close
        for h in self.handles:
            ray.kill(h, no_restart=True)


def raise_worker_error(exc: RayTaskError) -> None:
    """Raise what a worker's task raised: its VtonError as this process's own (the message and fix the user acts
    on, without the worker's traceback), anything else (a bug) as Ray reported it."""
    if isinstance(exc.cause, VtonError):
        raise type(exc.cause)(f"on a Ray worker: {exc.cause.message}", hint=exc.cause.hint) from None
    raise exc


def raise_stalled(what: str, running: list[int], waited_s: float) -> None:
    """The ConfigError for a pool where no shard finished for `waited_s` seconds (`running`: the shards held)."""
    raise ConfigError(
        f"no {what} shard finished on the Ray cluster for {waited_s:.0f} s; running: shards "
        f"{', '.join(str(i) for i in sorted(running))}",
        hint=f"check those actors' logs (ray logs / the dashboard) for a hang; if a shard really takes that long, "
             f"raise {what}.ray.stall_timeout_s (null waits for ever)")


def refuse_mismatch(what: str, seen: list[dict], here: dict, keys: tuple[str, ...]) -> None:
    """A ConfigError when a worker's describe() differs from this driver's on any of `keys` (code, models)."""
    for info in seen:
        differ = [k for k in keys if info.get(k) != here.get(k)]
        if differ:
            detail = ", ".join(f"{k} {str(info.get(k))[:40]} vs {str(here.get(k))[:40]}" for k in differ)
            raise ConfigError(
                f"the Ray worker on node {info.get('node')} runs different {what} code or models than this "
                f"driver ({detail}): its outputs would not match a local run",
                hint="build the worker image from this commit and roll it out (infra/README.md)")


def node_id() -> str:
    """The Ray node this process runs on (for describe())."""
    return ray.get_runtime_context().get_node_id()


def scratch_folder(prefix: str) -> Path:
    """A new private folder for this actor process (`<prefix><pid>-...` under tempfile's directory), after deleting
    those that actor processes on this machine left when they died (killed mid-shard, they leave one)."""
    for folder in Path(tempfile.gettempdir()).glob(f"{prefix}*-*"):
        pid = folder.name[len(prefix):].split("-", 1)[0]
        if pid.isdigit() and int(pid) != os.getpid() and not process_alive(int(pid)):
            shutil.rmtree(folder, ignore_errors=True)
    return Path(tempfile.mkdtemp(prefix=f"{prefix}{os.getpid()}-"))


def run_shards(n_shards: int, pool: ActorPool, send: Callable[[Any, int], Any], land: Callable[[int, Any], None],
               give_up: Callable[[int, int, Exception], None], max_retries: int,
               stall_timeout_s: float | None = None) -> int:
    """Run shards 0..n_shards-1 on `pool`: `send(actor, i)` submits one (an ObjectRef), `land(i, outputs)`
    takes what came back, `give_up(i, deaths, exc)` a shard whose actors died past `max_retries`.

    An actor runs its shards in order, so when it dies the oldest shard it holds is the one it was running:
    that one counts a death (and towards max_retries); the ones queued behind it never started and are simply
    sent again. When no shard finishes for `stall_timeout_s` a ConfigError names the shards that were running.
    Returns how many shards were retried."""
    waiting = deque(range(n_shards))
    deaths = [0] * n_shards
    retried: set[int] = set()
    queued: list[deque] = [deque() for _ in pool.handles]  # per slot: (ObjectRef, shard index), oldest first

    def submit() -> None:
        for depth in range(1, SHARDS_PER_ACTOR + 1):  # fill every actor to one, then to two
            for slot, held in enumerate(queued):
                if waiting and len(held) < depth:
                    i = waiting.popleft()
                    held.append((send(pool.handles[slot], i), i))

    submit()
    while any(queued):
        slot_of = {ref: slot for slot, held in enumerate(queued) for ref, _ in held}
        done, _ = ray.wait(list(slot_of), num_returns=1, timeout=stall_timeout_s)
        if not done:
            raise_stalled(pool.what, [held[0][1] for held in queued if held], stall_timeout_s)
        ready = done[0]
        slot = slot_of[ready]
        ref, i = queued[slot].popleft()  # the oldest: a later one is ready first only when the actor died
        try:
            outputs = ray.get(ref)
        except RayTaskError as exc:  # the shard raised (an unreadable shared cache, say): not a dead worker
            raise_worker_error(exc)
        except RayActorError as exc:
            deaths[i] += 1
            retried.add(i)
            never_started = [j for _, j in queued[slot]]
            queued[slot].clear()
            waiting.extendleft(reversed(never_started))
            if deaths[i] > max_retries:
                give_up(i, deaths[i], exc)
            else:
                waiting.appendleft(i)
            pool.replace(slot)
            submit()
            continue
        submit()  # before landing: the actor gets its next shard while this one is written here
        land(i, outputs)
    return len(retried)


def on_pool(cls: type, args: tuple | Callable[[], tuple], n: int, num_cpus: float, num_gpus: float, what: str,
            check: Callable[[list[dict]], None], work: Callable[[ActorPool], Any]) -> Any:
    """Connect, start `n` actors of `cls`, `check` what they describe, run `work(pool)`, then close everything.

    `args` may be a callable, called once connected (for arguments that are put in the object store)."""
    started = connect()
    pool = None
    failed = True
    try:
        pool = ActorPool(cls, args() if callable(args) else args, n, num_cpus, num_gpus, what)
        check(pool.describe())
        outcome = work(pool)
        failed = False
        return outcome
    finally:
        if pool is not None:
            # After an error the outputs are discarded; a killed actor's scratch folder goes with the next actor
            # on its machine (scratch_folder), so there is nothing to wait for.
            pool.close(graceful=not failed)
        if started:
            ray.shutdown()
