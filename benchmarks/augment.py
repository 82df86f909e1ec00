"""Augmentation cost on a constructed annotated dataset at VITON-HD resolution, each figure beside its goal.

    python benchmarks/augment.py [--samples 16] [--size 384x512 768x1024] [--repeats 5]

Each sample has a person image, agnostic image, person/agnostic/cloth masks, LIP parsing, DensePose IUV and
BODY_25 + COCO-18 keypoints, so every target moves. Transforms: params.yaml's augment section (the active
profile), one variant per parent. Every figure is in wall and CPU seconds (process_time: all the process's
threads); rounds are interleaved in rotating order, figures are medians with their spread, the load is printed.
On this shared 2-core machine (load 15-26 while these were taken) wall times swing 2-5x; CPU seconds are what
compares. Figures:
- augment_sample alone on the decoded arrays against the whole stage in-process (issue 19: within 1.5x);
- the one-core floor of that ratio, from the same rounds' CPU: augment_sample + decoding the parents' files +
  writing the variants' files (encode, hashes, statistics), each alone. The stage's CPU cannot go below it; its
  wall can, where the reader and writer threads get the second core (an old version of this script compared a
  single unpaired wall timing of the parts with the stage's two-core wall, so its floor read above the ratio);
- what each file a variant decodes and writes costs (CPU ms per variant): what is left besides augment_sample;
- cached re-runs (goal: at most 5% of the first run): outputs deleted first (as `dvc repro` does) or kept, the
  variant cache alone (a changed input manifest misses the whole-run record), and one new parent of 16;
- `vton data augment` as a user runs it, in a project of its own (its own cache), first run and cached re-run.

Measured 2026-12-01, 16 samples (CPU seconds, median of 5; main's code under the same script in brackets):

    384x512:  augment_sample 0.150 s; stage 0.709 s = 4.54x (main 4.81x; goal 1.5x: missed), floor 4.40x
              cached re-run, outputs deleted: 1.2% of the first run (main ~9%: 0.055-0.060 s of manifest I/O)
              cached re-run, outputs kept: 0.7%; variant cache alone: 9.6% (0.068 s fixed: manifest read,
              relink, plan, write); one new parent of 16: 17.1%, 1.2 parents' worth beyond that fixed part
              `vton data augment`: first 4.67 s CPU, cached 0.89 s = 19% (main ~3.3 s cached; goal 5%: missed);
              2026-12-02, bytecode cache on: first 3.00 s, cached 0.210 s = 7.0% (0.55 s before this stop)
              2026-12-03, torch no longer imported (load 2.2-2.5, a slower day): process start and
              imports 2.05 s of the first run's wall (4.16 s the same day before); CPU first 3.73 s,
              cached 0.517 s = 13.8% (goal 5%: missed: a cheaper first run, the same fixed start-up)
    768x1024: augment_sample 0.431 s; stage 1.954 s = 4.41x (goal 1.5x: missed), floor 4.51x: the stage is at
              its floor (1.954 s against 0.431 + 0.501 decode + 1.015 write = 1.947 s)
              cached re-run, outputs deleted: 0.4%; kept: 0.3%; variant cache alone: 3.3%; one new parent:
              9.6% of the first run, 0.98 parents' worth beyond the fixed 0.063 s
              `vton data augment`: first 5.76 s CPU, cached 0.92 s = 16% (goal 5%: missed);
              2026-12-02, bytecode cache on: first 3.84 s, cached 0.195 s = 5.1% (goal 5%: missed by 0.1 point)
              2026-12-03, torch no longer imported: first 6.24 s CPU, cached 0.545 s = 8.7% (missed)

What is left of the stage ratio is decoding and encoding files whose bytes must not change, per variant at
384x512 (CPU ms, augment_sample itself ~9): decode person/garment/agnostic JPEG 1.5 + 1.2 + 1.4, masks and
parse PNG 0.3 each, DensePose IUV PNG 1.5; encode person/garment/agnostic JPEG 1.2 + 1.0 + 1.2, masks and
parse PNG 0.7-1.1 each, IUV PNG 3.1, image-densepose render + PNG 3.7, perceptual hashes 2.7 (a Lanczos
downscale of each image). At 768x1024 every one of these is ~4x. A cached command now answers from the whole-run
record before the augmentation code, pandas, numpy or PIL load (components/data/augment/whole_run.py); its ~0.2 s
is process start (~15 ms), typer and the step CLIs (~45 ms), pydantic building the params models (~60 ms),
reading params (~10 ms) and the lookup with its hard links (~25 ms).
"""

from __future__ import annotations

import argparse
import resource
import shutil
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks.lib.timing import Spread, command_seconds, load_line, paired, timed  # noqa: E402

STAGE_GOAL = 1.5  # issue 19: the stage within 1.5x of augment_sample alone
CACHED_GOAL = 0.05  # a re-run whose inputs are all cached costs at most 5% of the first run


def build(root: Path, n: int, width: int, height: int) -> None:
    import numpy as np
    from PIL import Image

    import tests.data.augment.annotated as synth

    small = root / "small"
    synth.build_annotated(small, n_train=n)
    # Scale every file to the benchmark size (nearest for maps), keeping the manifest.
    from components.annotate.layout import save_image

    # Every image the layout holds: colour photos are JPEG, maps PNG (a palette PNG keeps its palette).
    for path in [*small.rglob("*.png"), *small.rglob("*.jpg")]:
        img = Image.open(path)
        resample = Image.BILINEAR if img.mode == "RGB" and "image-densepose" not in str(path) else Image.NEAREST
        resized = img.resize((width, height), resample)
        if resized.mode == "P":
            resized.save(path)
        else:
            save_image(np.asarray(resized), path)
    import json

    for path in small.rglob("*.json"):
        doc = json.loads(path.read_text())
        sx, sy = width / synth.W, height / synth.H
        if "people" in doc:
            flat = np.asarray(doc["people"][0]["pose_keypoints_2d"]).reshape(-1, 3)
            flat[:, 0] *= sx
            flat[:, 1] *= sy
            doc["people"][0]["pose_keypoints_2d"] = flat.reshape(-1).tolist()
        path.write_text(json.dumps(doc))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--samples", type=int, default=16)
    parser.add_argument("--size", nargs="+", default=["384x512", "768x1024"])
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args()

    import os

    import cv2

    cv2.setNumThreads(1)
    os.environ["VTON_QUIET"] = "1"
    from benchmarks.lib.timing import REPO
    from components.params import load_params
    from components.data.augment.run import augment_dataset

    os.environ["VTON_PROJECT_ROOT"] = str(REPO)
    params = load_params().augment.model_copy(update={"enabled": True, "variants_per_sample": 1})
    print(load_line())
    print(f"augment params: the active profile's, {params.variants_per_sample} variant per train sample, "
          f"garment_flip={params.garment_flip}; wall and CPU seconds (process_time: every thread of the process)")
    with tempfile.TemporaryDirectory() as tmp:  # warm-up: imports and first-call set-up are not throughput
        build(Path(tmp), 1, 96, 128)
        augment_dataset(Path(tmp) / "small", Path(tmp) / "out", params)
    for size in args.size:
        w, h = (int(v) for v in size.split("x"))
        with tempfile.TemporaryDirectory() as tmp:
            root = Path(tmp)
            build(root, args.samples, w, h)
            print(f"{size}, {args.samples} train samples:")
            first_run(root, params, args.repeats)
            cached_runs(root, params, args.repeats)
            whole_command(root, args.repeats)
            print(load_line())


def first_run(root: Path, params, repeats: int) -> None:
    """augment_sample alone against the stage, in wall and CPU seconds, with the one-core floor and its parts."""
    from components.data.augment.run import _write, augment_dataset
    from components.data.augment.sample import augment_sample, load_sample
    from components.data.augment.transforms import variant_seed
    from components.manifest.schema import read_manifest

    df = read_manifest(root / "small")
    rows = [{k: v for k, v in r.items() if not (isinstance(v, float) and v != v)}
            for r in df[(df["split"] == "train") & (df["status"] == "ok")].to_dict("records")]
    samples = [(load_sample(r, root / "small"), variant_seed(params.seed, r["sample_id"], 0)) for r in rows]
    variants = [(augment_sample(s, params, seed)[0], r) for (s, seed), r in zip(samples, rows)]
    runs = {
        "alone": lambda: [augment_sample(s, params, seed) for s, seed in samples],
        "stage": lambda: augment_dataset(root / "small", root / "out", params),
        # What the stage does besides augment_sample, each alone: decoding the parents' files, and writing the
        # variants' (encode, hashes, statistics).
        "decode": lambda: [load_sample(r, root / "small") for r in rows],
        "write": lambda: [_write(v, r, r["split"], f"bench{i}", root / "write-bench")
                          for i, (v, r) in enumerate(variants)],
    }
    wall, cpu = interleaved(runs, repeats)
    print(f"  augment_sample alone: {wall['alone'].text()} wall, {cpu['alone'].text()} CPU")
    print(f"  augment stage (in-process): {wall['stage'].text()} wall, {cpu['stage'].text()} CPU")
    for name, spread in (("wall", ratios(wall, "stage", "alone")), ("CPU", ratios(cpu, "stage", "alone"))):
        print(f"  stage / alone, {name}: {spread.text(unit='x', digits=2)} (median of per-round ratios; "
              f"goal <= {STAGE_GOAL}x: {'met' if spread.median <= STAGE_GOAL else 'missed'})")
    floor = Spread([(a + d + w) / a for a, d, w in zip(cpu["alone"].values, cpu["decode"].values,
                                                      cpu["write"].values)])
    print(f"  besides augment_sample, CPU: decoding the parents' files {cpu['decode'].text()}, writing the variants' "
          f"files {cpu['write'].text()}; so the stage's CPU cannot go below {floor.text(unit='x', digits=2)} of "
          f"augment_sample's while the files keep their bytes (its wall can, by as much as the reader and writer "
          f"threads run on another core)")
    n = len(rows)
    print("  where a variant's time goes besides augment_sample (CPU ms per variant, median of 3):")
    for name, ms in cost_breakdown(root / "small", rows, variants, root / "parts-bench"):
        print(f"    {name:52s} {ms / n:6.2f}")


def cost_breakdown(src: Path, rows: list[dict], variants: list, scratch: Path) -> list[tuple[str, float]]:
    """CPU milliseconds (all variants) of each file the stage decodes and writes, and of its other per-variant work."""
    import numpy as np
    from PIL import Image

    from components.annotate import layout
    from components.annotate.keypoints import dresscode_json, openpose_json, write_json
    from components.data.augment.sample import MAP_COLUMNS
    from components.manifest.image_io import perceptual_hash

    def pixels(rel: str) -> np.ndarray:
        with Image.open(src / rel) as img:
            return np.asarray(img)

    parts: list[tuple[str, object]] = []
    for col in ("person_path", "garment_path", *MAP_COLUMNS):
        if rows[0].get(col):
            parts.append((f"decode {col}", lambda col=col: [pixels(r[col]) for r in rows]))
    encoders = {"person": lambda v: v.person, "garment": lambda v: v.garment}
    for name, fn in encoders.items():
        parts.append((f"encode {name} JPEG", lambda fn=fn, name=name: [
            layout.save_image(fn(v), scratch / f"{name}{i}.jpg") for i, (v, _) in enumerate(variants)]))
    for name in variants[0][0].maps:
        arr = variants[0][0].maps[name]
        if name == "agnostic":
            save, ext = layout.save_image, "jpg"
        elif name == "densepose":
            save, ext = layout.save_png, "png"
        elif arr.dtype == bool:
            save, ext = layout.save_mask, "png"
        else:
            save, ext = layout.save_labels, "png"
        parts.append((f"encode {name} {ext.upper()}", lambda name=name, save=save, ext=ext: [
            save(v.maps[name], scratch / f"{name}{i}.{ext}") for i, (v, _) in enumerate(variants)]))
    if "densepose" in variants[0][0].maps:
        parts.append(("render + encode image-densepose PNG", lambda: [
            layout.save_png(layout.render_densepose(v.maps["densepose"][..., 0]), scratch / f"dp{i}.png")
            for i, (v, _) in enumerate(variants)]))
    parts.append(("keypoint JSONs (BODY_25, COCO-18)", lambda: [
        (write_json(openpose_json(v.keypoints), scratch / f"k{i}.json"),
         write_json(dresscode_json(v.keypoints), scratch / f"c{i}.json")) for i, (v, _) in enumerate(variants)]))
    parts.append(("perceptual hashes (person, garment)", lambda: [
        (perceptual_hash(Image.fromarray(v.person)), perceptual_hash(Image.fromarray(v.garment)))
        for v, _ in variants]))
    out = []
    for name, fn in parts:
        values = []
        for _ in range(3):
            t0 = time.thread_time()
            fn()
            values.append(time.thread_time() - t0)
        out.append((name, 1000 * Spread(values).median))
    shutil.rmtree(scratch, ignore_errors=True)
    return out


def interleaved(runs: dict, repeats: int) -> tuple[dict[str, Spread], dict[str, Spread]]:
    """Wall and CPU seconds of each run, `repeats` rounds, each round in another order (load drift hits all)."""
    names = list(runs)
    wall: dict[str, list[float]] = {n: [] for n in names}
    cpu: dict[str, list[float]] = {n: [] for n in names}
    for i in range(repeats):
        for name in names[i % len(names):] + names[:i % len(names)]:
            c0, w0 = time.process_time(), time.perf_counter()
            runs[name]()
            wall[name].append(time.perf_counter() - w0)
            cpu[name].append(time.process_time() - c0)
    return {n: Spread(v) for n, v in wall.items()}, {n: Spread(v) for n, v in cpu.items()}


def ratios(spreads: dict[str, Spread], num: str, den: str) -> Spread:
    """Per-round ratios num / den."""
    return Spread([a / b for a, b in zip(spreads[num].values, spreads[den].values)])


def cached_runs(root: Path, params, repeats: int) -> None:
    """Re-runs with every input cached (outputs deleted first, or kept), and one new parent, against the first run."""
    import pandas as pd

    from components.data.augment.run import augment_dataset
    from components.manifest.schema import read_manifest, write_manifest

    src, out, cache = root / "small", root / "cached", root / "cache"
    full = read_manifest(src)
    last = full[(full["split"] == "train") & (full["status"] == "ok")]["sample_id"].iloc[-1]
    firsts, news = [], []
    for _ in range(max(3, repeats // 2)):
        # One parent fewer first, then all: the second run makes one new parent's variants, the rest cached.
        shutil.rmtree(cache, ignore_errors=True)
        write_manifest(full[full["sample_id"] != last], src)
        shutil.rmtree(out, ignore_errors=True)
        firsts.append(measure(lambda: augment_dataset(src, out, params, cache_dir=cache)))
        write_manifest(full, src)
        shutil.rmtree(out)
        news.append(measure(lambda: augment_dataset(src, out, params, cache_dir=cache)))
    first = pd.DataFrame(firsts, columns=["wall", "cpu"]).median()
    n = len(full[(full["split"] == "train") & (full["status"] == "ok")])
    deleted, kept, variant_level = [], [], []
    for _ in range(repeats):
        shutil.rmtree(out)  # dvc repro deletes the stage's outputs before it runs it
        deleted.append(measure(lambda: augment_dataset(src, out, params, cache_dir=cache)))
        kept.append(measure(lambda: augment_dataset(src, out, params, cache_dir=cache)))
        shutil.rmtree(cache / "runs", ignore_errors=True)  # the whole-run record gone: every variant from the variant cache
        shutil.rmtree(out)
        variant_level.append(measure(lambda: augment_dataset(src, out, params, cache_dir=cache)))
    print(f"  first run with the cache ({n - 1} parents): {first['wall']:.3f} s wall, {first['cpu']:.3f} s CPU")
    for label, values in (("cached re-run, outputs deleted first", deleted), ("cached re-run, outputs kept", kept),
                          ("every variant cached, no whole-run record (the input manifest changed)", variant_level)):
        wall, cpu = Spread([v[0] for v in values]), Spread([v[1] for v in values])
        share = Spread([c / first["cpu"] for c in cpu.values])
        print(f"  {label}: {wall.text()} wall, {cpu.text()} CPU = {share.text(unit='%', scale=100, digits=1)} of "
              f"the first run's CPU (goal <= {100 * CACHED_GOAL:.0f}%: "
              f"{'met' if share.median <= CACHED_GOAL else 'missed'})")
    new_cpu = Spread([v[1] for v in news])
    fixed = Spread([v[1] for v in variant_level]).median
    per_parent = (first["cpu"] - fixed) / (n - 1)
    print(f"  one new parent of {n}: {Spread([v[0] for v in news]).text()} wall, {new_cpu.text()} CPU = "
          f"{100 * new_cpu.median / first['cpu']:.1f}% of the first run ({100 / n:.1f}% new); beyond the fixed "
          f"{fixed:.3f} s it costs {(new_cpu.median - fixed) / per_parent:.2f} parents' worth of the first run")


def measure(fn) -> tuple[float, float]:
    """(wall, CPU) seconds of fn()."""
    c0, w0 = time.process_time(), time.perf_counter()
    fn()
    return time.perf_counter() - w0, time.process_time() - c0


def whole_command(root: Path, repeats: int) -> None:
    """`vton data augment` as a user runs it, in a project of its own (its cache under it), first and cached."""
    from benchmarks.lib.timing import REPO
    from components.data.augment.run import augment_dataset
    from components.params import load_params

    project = root / "project"
    project.mkdir()
    for name in ("params.yaml", "dvc.yaml"):
        shutil.copy2(REPO / name, project / name)
    env = {"VTON_PROJECT_ROOT": str(project)}
    cmd = ["vton", "data", "augment", "--in", str(root / "small"), "--out", str(root / "cmd")]
    params = load_params(REPO / "params.yaml").augment

    child_cpu: dict[str, list[float]] = {"first": [], "cached": []}

    def command(kind: str) -> float:
        before = resource.getrusage(resource.RUSAGE_CHILDREN)
        seconds = command_seconds(cmd, project, env)
        after = resource.getrusage(resource.RUSAGE_CHILDREN)
        child_cpu[kind].append(after.ru_utime + after.ru_stime - before.ru_utime - before.ru_stime)
        return seconds

    def first() -> float:
        shutil.rmtree(project / ".cache", ignore_errors=True)
        return command("first")

    def cached() -> float:
        shutil.rmtree(root / "cmd", ignore_errors=True)
        return command("cached")

    def stage() -> float:
        shutil.rmtree(root / "stage-cache", ignore_errors=True)
        return timed(lambda: augment_dataset(root / "small", root / "stage-out", params, cache_dir=root / "stage-cache"))

    reps = max(3, repeats // 2)
    whole = paired(stage, first, reps)
    print(whole.text("stage in-process, first run with its cache", "`vton data augment` (whole command), first run"))
    start = Spread([b - a for a, b in zip(whole.a.values, whole.b.values)])
    print(f"  of which process start and imports (command - in-process, per pair): {start.text()} wall")
    again = Spread([cached() for _ in range(reps)])
    first_cpu, again_cpu = Spread(child_cpu["first"]), Spread(child_cpu["cached"])
    print(f"  `vton data augment` CPU (the command's process): first run {first_cpu.text()}, cached re-run (outputs "
          f"deleted first) {again_cpu.text()} = {100 * again_cpu.median / first_cpu.median:.1f}% (goal <= "
          f"{100 * CACHED_GOAL:.0f}%: {'met' if again_cpu.median <= CACHED_GOAL * first_cpu.median else 'missed'}); "
          f"cached re-run wall {again.text()}")


if __name__ == "__main__":
    main()
