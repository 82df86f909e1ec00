"""The annotate engine: plan samples, skip cached ones, annotate the rest in shards on worker processes.

Samples are grouped by person image (one model pass serves every garment paired with that person) and
cut into shards of about annotate.shard_size samples. With one worker the shards run in this process
(no pool overhead); with more, a forkserver pool builds the annotators once per worker; with
annotate.executor: ray, Ray actors run them (executors/ray_executor.py) and this process lands what they
return. On CUDA the research models take several person photos per pass (their batch_size). Each process
reads the next person photo ahead on one thread and renders, encodes and writes samples on a small
thread pool (Pillow, zlib, OpenCV and MediaPipe release the GIL), so decoding the next person and
finishing the last one overlap this person's inference. A sample is recorded in the cache only once
all its files are on disk, so a killed run resumes from there and never trusts a half-written sample.
Per-sample failures quarantine that sample with the error; they never stop the run.
"""

from __future__ import annotations

import hashlib
import json
import os
import traceback
from collections import defaultdict
from concurrent.futures import Future, ProcessPoolExecutor, ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

from components.annotate.annotators import (
    annotator_class,
    backends_for,
    build_annotators,
    render_hook_files,
    selected_classes,
)
from components.annotate.cache import AnnotateCache, digest
from components.annotate.layout import LAYOUT_VERSION
from components.annotate.params import AnnotateParams
from components.annotate.report import EngineReport
from components.annotate.sample import SampleTask, render_sample
from components.errors import Quarantine
from components.file_digests import FileDigests
from components.progress import progress_bar


@dataclass
class SampleResult:
    """The outcome of one sample."""

    sample_id: str
    row: dict
    cached: bool = False
    model_calls: int = 0
    shared: bool = False  # found by a Ray worker in the shared cache (annotate.ray.shared_cache)


def annotator_identities(settings: AnnotateParams, digests: FileDigests | None = None) -> dict[str, str]:
    """{role: name:version@weights} for the annotators these params select (no model is loaded).

    With `digests`, an identity is remembered against its weights files' size and mtime, so unchanged
    weights are not hashed again on every run."""
    from components.annotate.preflight import check_weights

    check_weights(settings)  # before any work: one error naming every missing weights file
    out = {}
    for role, backend in backends_for(settings):
        cls = annotator_class(role, backend)
        files = _weights_files(cls) if digests is not None else []
        fact = f"identity:{cls.name}:{cls.version}"
        known = {digests.get(f, fact) for f in files} if files else {None}
        if len(known) == 1 and None not in known:
            out[role] = known.pop()
            continue
        out[role] = cls.identity()
        for f in files:
            digests.put(f, fact, out[role])
    return out


def annotator_weights_files(settings: AnnotateParams) -> list[Path]:
    """The local weights files of the annotators these params select (all present: check_weights ran)."""
    return [f for role, backend in backends_for(settings) for f in _weights_files(annotator_class(role, backend))]


def _weights_files(cls) -> list[Path]:
    """The local files of an annotator's catalogued weights (all present: check_weights ran)."""
    if not cls.weights:
        return []
    from components.models.store import Catalog, local_path

    catalog = Catalog.load()
    return [local_path(catalog.get(name)) for name in cls.weights]


def person_key(person_sha: str, settings: AnnotateParams, identities: dict[str, str]) -> str:
    """Cache key of a person's maps: its bytes, the frame size, the annotators (`identities`) and the settings
    each selected annotator declares change its maps (Annotator.cache_settings); nothing else."""
    rules: dict = {}
    for cls in selected_classes(settings):
        rules.update(cls.cache_settings(settings))  # two annotators reading one section declare the same value
    return digest({"person": person_sha, "size": [settings.width, settings.height], "annotators": identities, **rules})


# The modules that turn maps into files: a change to any of them re-renders samples (without model calls).
# An annotator whose render hook shapes the files (annotators/base.py: parse_for_category) renders too (hashed below).
RENDER_MODULES = ("agnostic.py", "regions.py", "cloth_mask.py", "frame.py", "geometry.py", "keypoints.py", "layout.py",
                  "measure.py", "sample.py", "../fit/ratios.py", "../fit/columns.py")


def render_code_digest(settings: AnnotateParams) -> str:
    """sha256 of the code that renders samples with these annotate params, so cached samples never outlive it."""
    here = Path(__file__).parent
    h = hashlib.sha256(LAYOUT_VERSION.encode())
    for rel in RENDER_MODULES:
        h.update((here / rel).read_bytes())
    for path in render_hook_files(settings):
        h.update(path.read_bytes())
    return h.hexdigest()


def sample_key(pkey: str, garment_sha: str | None, sample_id: str, category: str, split: str,
               settings: AnnotateParams, code: str | None = None) -> str:
    """Cache key of a finished sample: its person key, garment bytes, identity, output-shaping params and code."""
    shaping = settings.model_dump(exclude={"workers", "shard_size", "executor", "ray", "cache_dir", "overlay_samples"})
    return digest({"person": pkey, "garment": garment_sha, "id": sample_id, "category": category, "split": split,
                   "params": shaping, "code": code or render_code_digest(settings)})


def shards_of(tasks: list[SampleTask], shard_size: int) -> list[list[SampleTask]]:
    """Tasks grouped by person (never split across shards) and packed into shards of ~shard_size."""
    by_person: dict[str, list[SampleTask]] = defaultdict(list)
    for t in tasks:
        by_person[t.person_key].append(t)
    shards, current = [], []
    for group in by_person.values():
        if current and len(current) + len(group) > shard_size:
            shards.append(current)
            current = []
        current.extend(group)
    if current:
        shards.append(current)
    return shards


# ---- worker side -------------------------------------------------------------------------------------

_WORKER: dict = {}
# Threads per process that render, encode and write samples: two keep up with MediaPipe at 768x1024,
# more would only compete with inference for the same cores.
WRITER_THREADS = 2
# Persons whose files may be queued at once; past this the shard waits, so memory stays bounded.
MAX_PENDING_PERSONS = 2


def _init_worker(settings: AnnotateParams, cache_root: str, out_dir: str, versions: dict[str, str]) -> None:
    """Pool initializer: remember the job; annotators are built on the first shard that needs a model."""
    os.environ.setdefault("OMP_NUM_THREADS", "1")
    _WORKER.clear()
    _WORKER.update(settings=settings, cache=AnnotateCache(Path(cache_root)), out_dir=Path(out_dir),
                   versions=versions, annotators=None, ahead={}, maps_writes=[],
                   writer=ThreadPoolExecutor(WRITER_THREADS, thread_name_prefix="annotate-write"),
                   reader=ThreadPoolExecutor(1, thread_name_prefix="annotate-read"))


def _close_worker() -> None:
    """Release the models and the reader and writer threads of this process (after its last shard)."""
    for a in _WORKER.get("annotators") or []:
        a.close()
    for pool in ("reader", "writer"):
        if _WORKER.get(pool) is not None:
            _WORKER[pool].shutdown(wait=True)
    _WORKER.clear()


def _annotators() -> list:
    if _WORKER["annotators"] is None:
        _WORKER["annotators"] = build_annotators(_WORKER["settings"])
    return _WORKER["annotators"]


def _quarantine_row(reason: str) -> dict:
    return {"status": "quarantined", "quarantine_reason": reason}


@dataclass
class _Pending:
    """A sample being rendered and written on the writer threads."""

    task: SampleTask
    render: Future  # -> (row, files); Quarantine when the sample cannot be rendered
    writes: list[Future]  # the files the render queued (complete once `render` is done)
    model_calls: int


def _render(task: SampleTask, frame, box, maps, writes: list[Future]) -> tuple[dict, list[str]]:
    """render_sample on a writer thread; its files are queued on the same pool (it never waits for them)."""
    writer: ThreadPoolExecutor = _WORKER["writer"]
    return render_sample(task, frame, box, maps, _WORKER["settings"], _WORKER["out_dir"], _WORKER["versions"],
                         write=lambda fn, *args: writes.append(writer.submit(fn, *args)))


def _finish(pending: _Pending, cache: AnnotateCache, out_dir: Path) -> SampleResult:
    """Wait for a sample's render and writes, then record it in the cache: a quarantine without files; a
    failed render or write quarantines it uncached (a bug on one sample must not stop the run)."""
    sid, calls = pending.task.sample_id, pending.model_calls
    try:
        row, files = pending.render.result()
        for w in pending.writes:
            w.result()
    except Quarantine as q:
        for w in pending.writes:  # let queued files finish before the sample is recorded without them
            w.exception()
        row = _quarantine_row(q.reason)
        cache.save_record(pending.task.sample_key, row, out_dir, [])
        return SampleResult(sid, row, model_calls=calls)
    except Exception as exc:  # noqa: BLE001 - not cached: the next run tries again
        detail = traceback.format_exception_only(type(exc), exc)[-1].strip()
        return SampleResult(sid, _quarantine_row(f"annotate error: {detail}"), model_calls=calls)
    cache.save_record(pending.task.sample_key, row, out_dir, files)
    return SampleResult(sid, row, model_calls=calls)


class PersonChanged(RuntimeError):
    """The person file's bytes are not the ones its cache key was computed from (edited during the run)."""


def read_person(task: SampleTask):
    """The person photo, decoded once and turned upright; Quarantine for corrupt data, PersonChanged if edited.

    Size limits were applied upstream (import, or the folder planner's header check); this decode is the
    one that meets every pixel, so it is where corrupt data is found."""
    from PIL import ImageOps

    from components.manifest.image_io import DecodeLimits, load_image_bytes, read_image_file, sha256_bytes

    limits = DecodeLimits(min_side=1, max_pixels=1 << 40, max_bytes=1 << 40)
    data = read_image_file(Path(task.person_file), limits)
    if task.person_sha256 is not None and sha256_bytes(data) != task.person_sha256:
        raise PersonChanged(f"{task.person_file} changed since this run hashed it; run again")
    img = load_image_bytes(data, limits)
    ImageOps.exif_transpose(img, in_place=True)  # imported photos are upright already; plain folders may not be
    return img


def _load_person(cache: AnnotateCache, pkey: str, task: SampleTask) -> tuple:
    """(cached maps or None, the decoded person photo); a cached quarantine (str) needs no pixels."""
    maps = cache.load_maps(pkey)
    return (maps, None) if isinstance(maps, str) else (maps, read_person(task))


def _prefetch(pkey: str, task: SampleTask) -> None:
    """Start loading a person on the reader thread: its decode overlaps the current person's inference."""
    ahead = _WORKER["ahead"]
    if pkey not in ahead:
        ahead[pkey] = _WORKER["reader"].submit(_load_person, _WORKER["cache"], pkey, task)


def engine_batch_size(settings: AnnotateParams) -> int:
    """Person photos annotated together: the largest batch size the selected annotators declare
    (Annotator.batch_size: a research model's batch_size on CUDA, else 1). Decided from the params, so a
    fully cached shard never loads a model to ask."""
    return max((cls.batch_size(settings) for cls in selected_classes(settings)), default=1)


def _people_maps(people: list[tuple[str, SampleTask]]) -> list[tuple | PersonChanged]:
    """Per person (maps or quarantine reason, frame, box, model calls), or PersonChanged if its file was edited.

    The persons the cache does not know go through the annotators together: one batched pass on GPU."""
    from components.annotate.frame import letterbox
    from components.annotate.person import annotate_people

    settings: AnnotateParams = _WORKER["settings"]
    out: list = [None] * len(people)
    todo: list[tuple[int, str, object]] = []
    for i, (pkey, task) in enumerate(people):
        loading = _WORKER["ahead"].pop(pkey, None)
        try:
            maps, img = loading.result() if loading is not None else _load_person(_WORKER["cache"], pkey, task)
            if isinstance(maps, str):
                out[i] = (maps, None, None, 0)
            elif maps is not None:
                frame, _, box = letterbox(img, settings.width, settings.height)
                out[i] = (maps, frame, box, 0)
            else:
                todo.append((i, pkey, img))
        except Quarantine as q:  # corrupt pixel data: a property of these bytes, recorded like any quarantine
            out[i] = (f"person image: {q.reason}", None, None, 0)
        except PersonChanged as exc:
            out[i] = exc
        except Exception as exc:  # noqa: BLE001 - an unreadable person file quarantines its samples
            out[i] = (f"person image unreadable: {type(exc).__name__}: {exc}", None, None, 0)
    if not todo:
        return out
    annotators = _annotators()
    before = sum(a.calls for a in annotators)
    try:
        results = annotate_people([img for _, _, img in todo], annotators, settings.width, settings.height)
    except Exception as exc:  # noqa: BLE001 - a model failure quarantines this group's samples, uncached
        detail = traceback.format_exception_only(type(exc), exc)[-1].strip()
        for i, _, _ in todo:
            out[i] = (f"annotate error: {detail}", None, None, 0)
        return out
    calls = sum(a.calls for a in annotators) - before
    for n, ((i, pkey, _), result) in enumerate(zip(todo, results)):
        if isinstance(result, Quarantine):
            maps, frame, box = result.reason, None, None
        else:
            frame, maps, box = result
        # Written on the writer threads (the arrays are never modified afterwards); the shard waits for it.
        _WORKER["maps_writes"].append(_WORKER["writer"].submit(_WORKER["cache"].save_maps, pkey, maps))
        out[i] = (maps, frame, box, calls if n == 0 else 0)  # the group's calls, counted once
    return out


def run_shard(shard: list[SampleTask], following: SampleTask | None = None) -> list[SampleResult]:
    """Annotate one shard in this process (models loaded once per process) and record each sample.

    `following` is the first task of the shard this process runs next, if known: it is read ahead too."""
    cache: AnnotateCache = _WORKER["cache"]
    out_dir: Path = _WORKER["out_dir"]
    writer: ThreadPoolExecutor = _WORKER["writer"]
    results: list[SampleResult] = []
    queued: list[list[_Pending]] = []  # per person, oldest first
    by_person: dict[str, list[SampleTask]] = defaultdict(list)
    for t in shard:
        by_person[t.person_key].append(t)
    persons = list(by_person.items())
    batch = engine_batch_size(_WORKER["settings"])
    groups = [persons[i : i + batch] for i in range(0, len(persons), batch)]
    tail = [[(following.person_key, [following])]] if following is not None else []
    for group, upcoming in zip(groups, groups[1:] + tail + [[]]):
        for pkey, tasks in upcoming:  # decoded on the reader thread while this group is inferred
            _prefetch(pkey, tasks[0])
        for (pkey, tasks), person in zip(group, _people_maps([(pkey, tasks[0]) for pkey, tasks in group])):
            while len(queued) >= MAX_PENDING_PERSONS:
                results.extend(_finish(p, cache, out_dir) for p in queued.pop(0))
            if isinstance(person, PersonChanged):  # not these bytes' fault: nothing recorded, the next run retries
                results.extend(SampleResult(t.sample_id, _quarantine_row(f"annotate error: {person}")) for t in tasks)
                continue
            maps, frame, box, calls = person
            person_pending = []
            for i, task in enumerate(tasks):
                model_calls = calls if i == 0 else 0
                if isinstance(maps, str):
                    row = _quarantine_row(maps)
                    cache.save_record(task.sample_key, row, out_dir, [])
                    results.append(SampleResult(task.sample_id, row, model_calls=model_calls))
                    continue
                # Rendered on the writer threads too, so it overlaps the next person's inference (the maps and
                # frame handed over are never modified afterwards).
                writes: list[Future] = []
                render = writer.submit(_render, task, frame, box, maps, writes)
                person_pending.append(_Pending(task, render, writes, model_calls))
            queued.append(person_pending)
    for person_pending in queued:
        results.extend(_finish(p, cache, out_dir) for p in person_pending)
    while _WORKER["maps_writes"]:
        _WORKER["maps_writes"].pop().result()  # a failed cache write stops the run, as before
    return results


# ---- driver ------------------------------------------------------------------------------------------


def run_engine(tasks: list[SampleTask], settings: AnnotateParams, out_dir: Path, cache_root: Path,
               versions: dict[str, str]) -> tuple[dict[str, dict], EngineReport]:
    """Annotate `tasks` into `out_dir`; return ({sample_id: row updates}, report)."""
    cache = AnnotateCache(cache_root)
    report = EngineReport(total=len(tasks))
    rows: dict[str, dict] = {}
    todo = []
    for t in tasks:
        record = cache.load_record(t.sample_key, out_dir)
        if record is not None:
            rows[t.sample_id] = record
            report.cached += 1
        else:
            todo.append(t)
    bar = progress_bar(total=len(tasks), desc="annotate", unit="sample")
    bar.update(report.cached)

    def collect(results: list[SampleResult]) -> None:
        for r in results:
            rows[r.sample_id] = r.row
            report.done += 1
            report.model_calls += r.model_calls
            report.shared_hits += r.shared
            bar.update(1)
        bar.set_postfix(done=report.done, cached=report.cached,
                        quarantined=sum(1 for row in rows.values() if row.get("status") == "quarantined"))

    shards = shards_of(todo, settings.shard_size)
    init_args = (settings, str(cache_root), str(out_dir), versions)
    if settings.executor == "ray" and shards:
        from components.annotate.executors.ray_executor import run_on_ray

        report.retried_shards = run_on_ray(shards, settings, versions, cache, out_dir, collect)
    elif settings.workers == 1 or len(shards) <= 1:
        _run_here(shards, init_args, collect)
    else:
        _run_pool(shards, min(settings.workers, len(shards)), init_args, collect)
    bar.close()
    for row in rows.values():
        if row.get("status") == "quarantined":
            report.quarantined += 1
            reason = row["quarantine_reason"]
            report.reasons[reason] = report.reasons.get(reason, 0) + 1
    return rows, report


def _run_here(shards: list[list[SampleTask]], init_args: tuple, collect) -> None:
    """Run `shards` in order in this process, each reading the next one's first person ahead."""
    _init_worker(*init_args)
    try:
        for shard, following in zip(shards, [s[0] for s in shards[1:]] + [None]):
            collect(run_shard(shard, following))
    finally:
        _close_worker()


def _run_pool(shards: list[list[SampleTask]], workers: int, init_args: tuple, collect) -> None:
    """Run `shards` on `workers` processes: workers - 1 in a pool, and this one.

    The pool takes shards from the front, this process from the back until they meet, so work starts at
    once instead of after the pool's start-up (its server importing mediapipe, ~1 s)."""
    import multiprocessing

    # forkserver: one server process imports the engine and the modules the annotators declare once; each
    # worker is then a cheap fork of it instead of a fresh interpreter importing everything (spawn). Fork
    # from this process would copy whatever threads and state the caller holds.
    ctx = multiprocessing.get_context("forkserver")
    ctx.set_forkserver_preload(worker_preload(init_args[0]))
    with ProcessPoolExecutor(workers - 1, mp_context=ctx, initializer=_init_worker, initargs=init_args) as pool:
        futures = [pool.submit(run_shard, shard) for shard in shards]
        _init_worker(*init_args)
        try:
            for shard, future in reversed(list(zip(shards, futures))):
                if not future.cancel():  # the pool has started it, and so every shard before it
                    break
                collect(run_shard(shard))
        finally:
            _close_worker()
        for future in futures:
            if not future.cancelled():
                collect(future.result())


def worker_preload(settings: AnnotateParams) -> list[str]:
    """Modules a worker pool's forkserver imports once: the engine and what the selected annotators declare."""
    modules = ["components.annotate.engine", "components.annotate.person"]
    for cls in selected_classes(settings):
        modules += [m for m in cls.preload if m not in modules]
    return modules


def versions_json(identities: dict[str, str]) -> str:
    """The manifest's annotator_versions value."""
    return json.dumps(identities, sort_keys=True)
