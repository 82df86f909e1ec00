"""Annotate throughput: the stage at 1 and N workers vs a bare MediaPipe loop, and the cached re-run.

    python benchmarks/annotate.py [--copies 8] [--workers 1 2] [--repeats 3]

Input: N distinct copies (one pixel changed, so each has its own content hash) of the sample people,
at 768x1024, as a plain photo folder. The bare loop decodes each image and runs MediaPipe pose + selfie
segmentation on it with nothing else; the stage also hashes, parses, masks, measures and writes the
VITON-HD layout (nine files per sample) and keeps its cache. Every figure is a median over interleaved
pairs with its spread (benchmarks/lib/timing.py), each stage run on a fresh output folder and cache:

- CPU seconds per image, stage at 1 worker / bare loop (the issue's goal: <= 1.15), with the process pinned
  to one core, so the stage's writer threads cannot hide work on a second core; and the same unpinned.
  Pinned, also without the stage's fixed cost per run (model builds, first calls, the manifest): the CPU the
  second half of the images adds, per image, against the bare loop's (a run on half the images, interleaved).
- Of the stage's CPU, what encoding its files costs (each output re-encoded from its pixels as the stage writes
  it): no change that keeps the files' bytes can take the ratio below 1 + that share of the bare loop; and
  what its cache writes cost (the maps entry, the files' checksums), which a stage that keeps its cache pays too.
- The cores one worker's models keep busy (the bare loop's CPU over its wall time less the time its threads
  waited for a core, unpinned: so a loaded machine does not lower it), and from it the speed-up N workers can
  reach on this machine's cores.
- The whole `vton annotate --input ... --workers W` command as a user runs it (a new process: imports,
  a fresh forkserver and model builds for W > 1) against the bare loop, in images/s, for each W; and W
  workers against 1. The cores the models can use bound the speed-up: on C idle cores, C divided by the
  cores one worker keeps busy. On a shared machine the other load takes its share of those cores, so beside
  it is the speed-up W bare loops run at once in W processes reach over one, measured in interleaved pairs
  with the command: the ceiling for W workers on this machine as loaded now. Printed with the load average:
  figures from a shared machine are only comparable to figures taken under the same load.
- A cached re-run with the outputs deleted first (what `dvc repro` does before it runs a changed stage), as
  a percentage of the first run (goal <= 5%), in-process and as the whole command: each re-run paired with the
  first run (fresh cache) just before it, the median and spread of the pairs' ratios.
- One new photo beside those N cached ones, in-process: its share of the first run, and what it adds beyond
  the cached re-run in photos' worth of the first run (1 plus what building the models costs, when only new
  work is paid for).

Measured 2026-12-03, --copies 4 (48 images), load 1.5-2.4 on 2 shared cores (this machine ran ~1.4x slower than
on 2026-12-01: the bare loop took 0.101 s an image, not 0.072):
    CPU per image, stage / bare loop: 2.31x pinned, 2.24x unpinned (goal 1.15x: missed); encoding the files as
    written is 0.72x of the bare loop, so the floor with unchanged bytes is 1.72x (1.79x with the cache's writes)
    cached re-run, outputs deleted: in-process 2.1% (2.0-2.6%) of the first run; whole command 4.9% (4.4-5.7%)
    of its first run (goal 5%: met at 48 images; at --copies 1, 12 images, the same fixed 0.4 s is 9.7%)
    one new photo beside 48 cached: 6.2% of the first run, 1.97 photos' worth beyond the cached re-run
"""

from __future__ import annotations

import argparse
import os
import sys
import shutil
import tempfile
import time
from contextlib import contextmanager
from pathlib import Path

import numpy as np
from PIL import Image

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks.lib.timing import REPO, Spread, command_seconds, load_line, paired  # noqa: E402

CPU_GOAL = 1.15  # issue 19: stage CPU seconds per image within 1.15x of the bare loop at 1 worker
CACHED_GOAL = 0.05  # a re-run whose inputs are all cached costs at most 5% of the first run


def _share_text(share: Spread) -> str:
    """A cached re-run's cost as a percentage of its first run (median and spread of the pairs) against the goal."""
    verdict = "met" if share.median <= CACHED_GOAL else "missed"
    return f"{share.text('%', scale=100, digits=1)} of the first run (goal <= {100 * CACHED_GOAL:.0f}%: {verdict})"


def make_inputs(folder: Path, copies: int) -> list[Path]:
    """`copies` distinct 768x1024 versions of each sample person photo."""
    from components.annotate.frame import letterbox
    from components.data.sample_data import PEOPLE, _load_photo

    folder.mkdir(parents=True)
    paths = []
    for person in PEOPLE:
        frame, _, _ = letterbox(_load_photo(person.key), 768, 1024)
        for i in range(copies):
            img = frame.copy()
            img[0, i % 768] = (i % 251, 3, 7)
            path = folder / f"{person.key}_{i:03d}.png"
            Image.fromarray(img).save(path, compress_level=1)
            paths.append(path)
    return paths


@contextmanager
def pinned(cores: set[int] | None):
    """Run this process's threads (and the threads they start) on `cores` only; None leaves them as they are."""
    if cores is None:
        yield
        return
    before = os.sched_getaffinity(0)
    threads = [int(t) for t in os.listdir("/proc/self/task")]
    for tid in threads:
        os.sched_setaffinity(tid, cores)
    try:
        yield
    finally:
        for tid in [int(t) for t in os.listdir("/proc/self/task")]:
            try:
                os.sched_setaffinity(tid, before)
            except OSError:
                pass  # a thread that ended meanwhile


def runqueue_wait() -> float:
    """Seconds this process's threads have spent ready to run but waiting for a core (Linux schedstat)."""
    total = 0
    for tid in os.listdir("/proc/self/task"):
        try:
            total += int(Path(f"/proc/self/task/{tid}/schedstat").read_text().split()[1])
        except (OSError, ValueError, IndexError):
            pass  # a thread that ended meanwhile
    return total / 1e9


def bare_loop(paths: list[Path], spread: list[float] | None = None) -> tuple[float, float]:
    """(wall, CPU) seconds for MediaPipe pose + selfie segmentation called directly on every image.

    With `spread`, appends the cores the loop kept busy: its CPU over its wall time less the time its threads
    waited for a core, so other work on a loaded machine does not lower the figure (exact when the threads take
    turns, as MediaPipe's graph threads and the caller do; an upper bound where they overlap)."""
    import mediapipe as mp

    pose = mp.solutions.pose.Pose(static_image_mode=True, model_complexity=1)
    seg = mp.solutions.selfie_segmentation.SelfieSegmentation(model_selection=0)
    waited = runqueue_wait()
    start, cpu = time.perf_counter(), time.process_time()
    for p in paths:
        arr = np.asarray(Image.open(p).convert("RGB"))
        pose.process(arr)
        seg.process(arr)
    wall, cpu = time.perf_counter() - start, time.process_time() - cpu
    if spread is not None:
        running = max(wall - (runqueue_wait() - waited), cpu)  # never below CPU: at least one core's worth
        spread.append(cpu / max(running, 1e-9))
    pose.close()
    seg.close()
    return wall, cpu


# One bare loop in its own process: it builds its models, says so, waits for the word, then times its loop
# (wall clock of this machine, so the parent can line the processes' spans up).
_BARE_CHILD = """
import json, sys, time
from pathlib import Path
sys.path.insert(0, sys.argv[1])
from benchmarks.annotate import bare_loop
paths = [Path(p) for p in sys.argv[2:]]
bare_loop(paths[:1])
print("ready", flush=True)
sys.stdin.readline()
start = time.time()
bare_loop(paths)
print(json.dumps([start, time.time()]), flush=True)
"""


def parallel_bare_rate(paths: list[Path], processes: int) -> float:
    """Images/s of `processes` bare loops run at once in separate processes, each over all of `paths`, timed from
    when all have built their models: what the models alone reach on this machine as it is loaded now (the
    ceiling of N workers' images/s, whatever else shares the cores)."""
    import json
    import subprocess

    env = {**os.environ, "OMP_NUM_THREADS": os.environ.get("OMP_NUM_THREADS", "1")}
    args = [sys.executable, "-c", _BARE_CHILD, str(REPO), *map(str, paths)]
    procs = [subprocess.Popen(args, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
                              text=True, env=env) for _ in range(processes)]
    try:
        for proc in procs:
            if proc.stdout.readline().strip() != "ready":
                raise RuntimeError("a bare-loop process failed before its loop")
        for proc in procs:
            proc.stdin.write("go\n")
            proc.stdin.flush()
        spans = [json.loads(proc.stdout.readline()) for proc in procs]
    finally:
        for proc in procs:
            proc.wait()
    return processes * len(paths) / (max(end for _, end in spans) - min(start for start, _ in spans))


def stage_run(folder: Path, out: Path, cache: Path, workers: int) -> tuple[float, float, object]:
    """(wall, CPU of this process) seconds for the annotate stage on `folder`, and its report.

    With workers > 1 the CPU is spent in the pool's processes, which this figure does not include."""
    from components.annotate.params import AnnotateParams
    from components.annotate.run import annotate_folder

    settings = AnnotateParams(width=768, height=1024, workers=workers, shard_size=4)
    start, cpu = time.perf_counter(), time.process_time()
    result = annotate_folder(folder, out, settings, cache, ["upper_body"])
    return time.perf_counter() - start, time.process_time() - cpu, result.report


def encode_seconds(out: Path, samples: int = 8) -> float:
    """CPU seconds per sample to encode its layout files again, as the stage writes them (JPEG 95, PNG level 1,
    palette PNG for parses), from their decoded pixels: the part of the stage's cost no change that keeps the
    files' bytes can remove."""
    from components.annotate import layout
    from components.manifest.schema import read_manifest

    df = read_manifest(out)
    rows = df[df["status"] == "ok"].head(samples)
    jobs = []
    for _, row in rows.iterrows():
        for col in layout.PATHS:
            rel = row.get(col)
            if not isinstance(rel, str) or rel.endswith(".json"):
                continue
            with Image.open(out / rel) as img:
                if img.mode == "P":
                    jobs.append((layout.save_labels, np.asarray(img)))
                elif rel.endswith(".jpg"):
                    jobs.append((layout.save_jpeg, np.asarray(img)))
                else:
                    jobs.append((layout.save_png, np.asarray(img)))
    scratch = out / "encode-bench"
    cpu = time.process_time()
    for i, (save, pixels) in enumerate(jobs):
        save(pixels, scratch / f"{i}.{'jpg' if save is layout.save_jpeg else 'png'}")
    cpu = time.process_time() - cpu
    shutil.rmtree(scratch, ignore_errors=True)
    return cpu / max(1, len(rows))


def cache_write_seconds(out: Path, cache: Path, samples: int = 8) -> float:
    """CPU seconds per sample of the stage's cache writes, which a stage that keeps its cache cannot skip either:
    its person's maps entry (npz) written again from the entry's arrays, and its files checksummed for the
    file store (the links themselves are not counted)."""
    from components.annotate import layout
    from components.annotate.cache import AnnotateCache
    from components.annotate.maps import BodyMaps
    from components.hashing import sha256_file
    from components.manifest.schema import read_manifest

    entries = sorted((cache / "maps").rglob("*.npz"))[:samples]
    maps = []
    for entry in entries:
        with np.load(entry, allow_pickle=False) as data:
            maps.append(BodyMaps.from_npz_dict(data))
    df = read_manifest(out)
    rows = df[df["status"] == "ok"].head(samples)
    files = [out / rel for _, row in rows.iterrows() for col in layout.PATHS
             if isinstance(rel := row.get(col), str)]
    scratch = AnnotateCache(out / "cache-bench")
    cpu = time.process_time()
    for i, m in enumerate(maps):
        scratch.save_maps(f"{i:064d}", m)
    for f in files:
        sha256_file(f)
    cpu = time.process_time() - cpu
    shutil.rmtree(out / "cache-bench", ignore_errors=True)
    return cpu / max(1, len(rows))


def bench_project(tmp: Path) -> Path:
    """A project root whose params.yaml is the repo's with annotate at 768x1024 and its cache in `tmp`."""
    import yaml

    root = tmp / "project"
    root.mkdir()
    params = yaml.safe_load((REPO / "params.yaml").read_text())
    params["annotate"].update(width=768, height=1024, shard_size=4, cache_dir=str(tmp / "cmd-cache"))
    (root / "params.yaml").write_text(yaml.safe_dump(params, sort_keys=False))
    return root


def main() -> None:
    """Print the figures the issue names, each beside its goal."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--copies", type=int, default=8, help="copies of each sample person")
    parser.add_argument("--workers", type=int, nargs="+", default=[1, 2])
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    # Import the stage before any timing, as the bare loop imports mediapipe before its clock starts;
    # building the models stays inside the stage's time (the bare loop's does not: a fixed cost per run).
    import components.annotate.engine  # noqa: F401
    import components.annotate.run  # noqa: F401

    cores = sorted(os.sched_getaffinity(0))
    tmp = Path(tempfile.mkdtemp(prefix="vton-bench-"))
    runs = iter(range(10**6))
    try:
        photos = tmp / "photos"
        paths = make_inputs(photos, args.copies)
        n = len(paths)
        print(f"{n} images at 768x1024; {load_line()}")

        def fresh_stage() -> tuple[float, float, object]:
            i = next(runs)
            return stage_run(photos, tmp / f"out{i}", tmp / f"cache{i}", 1)

        # The first half of the photos, to take the stage's fixed cost per run (model builds, first calls, the
        # manifest) out of its per-image figure: (CPU of all - CPU of half) / the images between them.
        half = tmp / "photos-half"
        half.mkdir()
        for path in paths[:n // 2]:
            os.link(path, half / path.name)

        def half_stage() -> tuple[float, float, object]:
            i = next(runs)
            return stage_run(half, tmp / f"half-out{i}", tmp / f"half-cache{i}", 1)

        busy: list[float] = []  # cores the bare loop keeps busy, unpinned: what one worker's models can use
        for label, cores_used in (("pinned to one core", {cores[0]}), ("unpinned", None)):
            bare_cpu, stage_cpu, ratios, marginal = [], [], [], []
            runners = (bare_loop, fresh_stage) + ((half_stage,) if cores_used is not None else ())
            with pinned(cores_used):
                for r in range(args.repeats):
                    order = runners[r % len(runners):] + runners[:r % len(runners)]  # rotated: each goes first
                    got = {fn: fn(paths, busy if cores_used is None else None) if fn is bare_loop else fn()
                           for fn in order}
                    b, s_ = got[bare_loop][1], got[fresh_stage][1]
                    bare_cpu.append(b / n)
                    stage_cpu.append(s_ / n)
                    ratios.append(s_ / b)
                    if half_stage in got:
                        marginal.append((s_ - got[half_stage][1]) / (n - n // 2) / (b / n))
            ratio = Spread(ratios)
            print(f"CPU per image, 1 worker, {label}: bare {Spread(bare_cpu).text('s')}, "
                  f"stage {Spread(stage_cpu).text('s')}")
            print(f"  stage / bare CPU per image: {ratio.text('x', digits=2)} (goal <= {CPU_GOAL}: "
                  f"{'met' if ratio.median <= CPU_GOAL else 'missed'})")
            if marginal:
                extra = Spread(marginal)
                print(f"  without the stage's fixed cost per run ({n - n // 2} images more against {n // 2}): "
                      f"{extra.text('x', digits=2)} the bare loop's CPU per image (goal <= {CPU_GOAL}: "
                      f"{'met' if extra.median <= CPU_GOAL else 'missed'})")
        encode = encode_seconds(tmp / "out0")
        bare_median = Spread(bare_cpu).median
        print(f"  of the stage's CPU, encoding the layout files (JPEG 95, PNG level 1, as written): {encode:.3f} s "
              f"per image = {encode / bare_median:.2f}x the bare loop, so stage / bare cannot go below "
              f"{1 + encode / bare_median:.2f}x while the files keep their bytes")
        cache_writes = cache_write_seconds(tmp / "out0", tmp / "cache0")
        print(f"  and its cache writes (the person's maps entry, its files' checksums for the file store): "
              f"{cache_writes:.3f} s per image = {cache_writes / bare_median:.2f}x the bare loop, so a stage that "
              f"keeps its cache cannot go below {1 + (encode + cache_writes) / bare_median:.2f}x")
        models_cores = Spread(busy).median
        print(f"cores one worker's models keep busy (bare loop CPU over wall less run-queue waits, unpinned): "
              f"{models_cores:.2f}; on this "
              f"machine's {len(cores)} cores, N workers can reach at most min(N, {len(cores) / models_cores:.1f})x "
              f"the images/s of one")

        project = bench_project(tmp)

        def command(workers: int):
            def go() -> float:
                out = tmp / f"cmd-out{next(runs)}"
                shutil.rmtree(tmp / "cmd-cache", ignore_errors=True)  # a first run: nothing cached
                return command_seconds(["vton", "annotate", "--input", str(photos), "--out", str(out),
                                        "--workers", str(workers)], project, {"VTON_PROJECT_ROOT": str(project)})
            return go

        def bare_seconds() -> float:
            return bare_loop(paths)[0]

        whole: dict[int, Spread] = {}
        models_now: dict[int, Spread] = {}  # N bare loops at once / one: what the models reach here, now
        for w in args.workers:
            pairs = paired(bare_seconds, command(w), args.repeats)
            whole[w] = pairs.b
            print(f"`vton annotate --workers {w}` (whole command, first run) vs the bare loop, {n} images:")
            print(f"  bare loop {n / pairs.a.median:.2f} img/s, command {n / pairs.b.median:.2f} img/s; "
                  f"command / bare time {pairs.ratios.text('x', digits=2)}")
            if w != 1:
                # Interleaved pairs of rates (higher is better): the parallel loops' rate over one loop's.
                rates = paired(lambda: 1 / parallel_bare_rate(paths, 1), lambda: 1 / parallel_bare_rate(paths, w),
                               args.repeats)
                models_now[w] = Spread([1 / r for r in rates.ratios.values])
        if 1 in whole:
            for w in args.workers:
                if w != 1:
                    ideal = min(w, len(cores) / models_cores)
                    print(f"  {w} workers vs 1 (whole command): {whole[1].median / whole[w].median:.2f}x on "
                          f"{len(cores)} cores; {w} bare loops at once reach {models_now[w].text('x', digits=2)} "
                          f"the images/s of one on this machine now (the ceiling under its present load; "
                          f"{ideal:.2f}x on idle cores: the cores the models can use, above); {load_line()}")

        # Each cached re-run is paired with the first run just before it (a fresh cache each time), so a
        # load change between pairs hits both sides of a ratio; the medians and spreads are of those pairs.
        first, again, share = [], [], []
        for i in range(args.repeats):
            out, cache = tmp / f"cached-out{next(runs)}", tmp / f"cached-cache{i}"
            first.append(stage_run(photos, out, cache, 1)[0])
            shutil.rmtree(out, ignore_errors=True)  # dvc repro deletes a stage's outputs before running it
            again.append(stage_run(photos, out, cache, 1)[0])
            share.append(again[-1] / first[-1])
        print(f"cached re-run, outputs deleted first (in-process): {Spread(again).text('s')} against first runs of "
              f"{Spread(first).text('s')}: {_share_text(Spread(share))}")
        # One new photo beside the N cached ones (the folder's whole-run record misses; N samples come from the
        # cache, one is annotated): beyond the cached re-run's fixed part, what it adds in photos of a first run.
        plus = tmp / "photos-plus"
        plus.mkdir()
        for path in paths:
            os.link(path, plus / path.name)
        new_photo = np.asarray(Image.open(paths[0])).copy()
        new_photo[1, 0] = (1, 2, 3)  # a pixel no other copy has: a photo of its own
        Image.fromarray(new_photo).save(plus / "new_photo.png", compress_level=1)
        one_new, beyond = [], []
        for i in range(args.repeats):
            cache = tmp / f"cached-cache{i}"  # pair i's cache: the N photos' samples, never the new photo
            one_new.append(stage_run(plus, tmp / f"plus-out{next(runs)}", cache, 1)[0])
            beyond.append((one_new[-1] - again[i]) / (first[i] / n))
        share = Spread([a / f for a, f in zip(one_new, first)])
        print(f"one new photo beside {n} cached ones (in-process): {Spread(one_new).text('s')} = "
              f"{share.text('%', scale=100, digits=1)} of the first run; {Spread(beyond).text('photos', digits=2)} "
              f"of a first run's per-photo time beyond the cached re-run (building the models included)")
        cached_cmd = tmp / "cmd-cached-out"
        args_cmd = ["vton", "annotate", "--input", str(photos), "--out", str(cached_cmd), "--workers", "1"]
        env = {"VTON_PROJECT_ROOT": str(project)}
        first_cmd, cmd_again, cmd_share = [], [], []
        for _ in range(args.repeats):
            shutil.rmtree(tmp / "cmd-cache", ignore_errors=True)  # a first run: nothing cached
            shutil.rmtree(cached_cmd, ignore_errors=True)
            first_cmd.append(command_seconds(args_cmd, project, env))
            shutil.rmtree(cached_cmd, ignore_errors=True)
            cmd_again.append(command_seconds(args_cmd, project, env))
            cmd_share.append(cmd_again[-1] / first_cmd[-1])
        print(f"cached re-run as the whole command, outputs deleted first: {Spread(cmd_again).text('s')} against "
              f"first runs of {Spread(first_cmd).text('s')}: {_share_text(Spread(cmd_share))}")
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
