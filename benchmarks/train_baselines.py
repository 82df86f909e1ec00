"""The baseline families side by side: training speed and peak memory at the CPU size, and how long each
needs on CPU before its held-out garment-region L1 beats copying the agnostic image by the smoke margin.

    python benchmarks/train_baselines.py [--repeats 3] [--steps 12] [--budget 400] [--every 50] [--threads 2]

    python benchmarks/train_baselines.py --repeats 2 --steps 2 --skip-margin   # a quick check that it runs

Speed: each (family, repeat) trains `--steps` optimizer steps in its own process (so peak memory is that
run's own), the two families as interleaved pairs, the order alternating (benchmarks/lib/timing.py); the
figures are medians with min-max spread, the whole worker process's wall time (start, imports, 2-step warm-up)
beside them, then the median of the per-pair ratios (gmm_tom's rate over unet_gan's, peak memory, process
time) and the machine's load. gmm_tom's steps are split between its GMM and TOM phases; both phases' rates
are printed.
Margin: each family trains on a tiny real-photo dataset (garments cut from the clothes the people wear,
annotated by the real annotate stage; mirrored people held out), resuming in `--every`-step increments up to
`--budget`; after each increment the packaged model's predictor (the serving path) is scored on the held-out
pairs. The figure is the training wall time until L1 < MARGIN x the copy-the-agnostic-image L1, which is
the same ratio tests/train/families/test_unet_gan.py asserts.
With CUDA: the same speed figures at the full size and at 768x1024; without it that part prints one line.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
os.environ.setdefault("VTON_QUIET", "1")
os.environ.setdefault("CI", "true")

from benchmarks.lib.timing import Spread, load_line, paired  # noqa: E402

MARGIN = 0.8
FAMILIES = ("unet_gan", "gmm_tom")
CPU_SIZE = {
    # What params.yaml's smoke profile trains (unet_gan: the 25.7M-parameter CPU size; gmm_tom: size cpu).
    "unet_gan": {"unet_gan": {"width": 48, "height": 64, "base_channels": 32, "bottleneck_channels": 368,
                              "res_blocks": 9, "disc_channels": 32}, "batch_size": 4},
    "gmm_tom": {"gmm_tom": {"size": "cpu", "batch_size": 4}},
}
FULL_SIZE = {
    "unet_gan": {"unet_gan": {"width": 192, "height": 256, "base_channels": 64}, "batch_size": 4},
    "gmm_tom": {"gmm_tom": {"size": "full", "batch_size": 4}},
}
HIGH_RES = {
    "unet_gan": {"unet_gan": {"width": 768, "height": 1024, "base_channels": 64}, "batch_size": 1},
    "gmm_tom": {"gmm_tom": {"size": "full", "resolution": (768, 1024), "batch_size": 1}},
}


def _photos() -> dict:
    import io

    import matplotlib.cbook
    import numpy as np
    import skimage.data
    from PIL import Image

    with matplotlib.cbook.get_sample_data("grace_hopper.jpg") as fh:
        hopper = Image.open(io.BytesIO(fh.read())).convert("RGB")
    return {"astronaut": Image.fromarray(skimage.data.astronaut()), "grace_hopper": hopper,
            "camera": Image.fromarray(np.asarray(skimage.data.camera())).convert("RGB")}


def _params(family: str, size: dict, steps: int, tmp: Path, threads: int, device: str = "cpu"):
    """TrainParams for `family` at `size`, training `steps` steps (gmm_tom: split over its two phases)."""
    from components.train.params import TrainParams

    spec = json.loads(json.dumps(size[family]))
    if family == "gmm_tom":
        gmm = max(1, steps // 2)
        spec["gmm_tom"]["steps"] = {"gmm": gmm, "tom": max(1, steps - gmm)}
    return TrainParams.model_validate({
        "model": family, "device": device, "num_threads": threads, "max_steps": steps, "checkpoint_every": 10**6,
        "cache_dir": str(tmp / "cache"), "tracking": {"log_every": 10**6, "validate_every": 0}, **spec})


def _context(params, dataset: Path, tmp: Path, resume: bool = False):
    from components.annotate.params import AnnotateParams
    from components.train.data import select_samples
    from components.train.families.base import FamilyContext

    return FamilyContext(params=params, samples=select_samples(dataset, "train").samples,
                         val_samples=select_samples(dataset, "test").samples, checkpoint_dir=tmp / "ckpt",
                         model_dir=tmp / "model", reports_dir=tmp / "reports", seed=0, resume=resume,
                         annotate=AnnotateParams(width=96, height=128))


def worker(family: str, size_name: str, steps: int, dataset: Path, threads: int, device: str) -> None:
    """One speed measurement in this process: prints a JSON line."""
    import resource

    import torch

    from components.train.families import get_family

    size = {"cpu": CPU_SIZE, "full": FULL_SIZE, "768x1024": HIGH_RES}[size_name]
    with tempfile.TemporaryDirectory() as tmp:
        # A 2-step warm-up run first (allocator, thread pools), then the timed one.
        get_family(family).train(_context(_params(family, size, 2, Path(tmp) / "w", threads, device), dataset,
                                          Path(tmp) / "w"))
        result = get_family(family).train(_context(_params(family, size, steps, Path(tmp), threads, device), dataset,
                                                   Path(tmp)))
    m = result.metrics
    if family == "unet_gan":
        rates = {"steps_per_s": 1.0 / m["step_time_s"] if m["step_time_s"] else 0.0}
    else:
        rates = {"gmm_steps_per_s": m["gmm_steps_per_s"], "tom_steps_per_s": m["tom_steps_per_s"]}
    peak = (torch.cuda.max_memory_allocated() / 2**20 if device == "cuda"
            else resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024)
    params = {k: v for k, v in m.items() if k.endswith("_parameters")}
    print(json.dumps({"family": family, **rates, "peak_memory_mb": peak, "parameters": sum(params.values())}))


def _spawn(family: str, size: str, steps: int, dataset: Path, threads: int, device: str) -> dict:
    """One worker process's JSON figures, with its whole wall time (start, imports, warm-up) as `process_s`."""
    cmd = [sys.executable, __file__, "--worker", family, "--size", size, "--steps", str(steps),
           "--dataset", str(dataset), "--threads", str(threads), "--device", device]
    t0 = time.perf_counter()
    proc = subprocess.run(cmd, capture_output=True, text=True, env={**os.environ, "PYTHONPATH": str(ROOT)})
    took = time.perf_counter() - t0
    if proc.returncode != 0:
        raise SystemExit(f"worker {family} failed:\n{proc.stderr[-3000:]}")
    return {**json.loads(proc.stdout.strip().splitlines()[-1]), "process_s": took}


def unet_gan_sizes() -> None:
    """Print the U-Net GAN's parameter counts (generator + PatchGAN) at the CPU size and the full size."""
    from components.train.families.unet_gan.params import UnetGanParams
    from components.train.families.unet_gan.trainer import parameter_count

    for label, size in (("cpu", CPU_SIZE), ("full", FULL_SIZE)):
        gp = UnetGanParams.model_validate(size["unet_gan"]["unet_gan"])
        print(f"  unet_gan {label:4s}: {parameter_count(gp) / 1e6:.1f}M parameters (base {gp.base_channels}, "
              f"bottleneck {gp.bottleneck_channels or 8 * gp.base_channels}, PatchGAN base {gp.disc_channels})")


def _fmt(values: list[float], unit: str = "", digits: int = 2) -> str:
    """'median unit (min-max, n=N)'."""
    return Spread(values).text(unit=unit.strip(), digits=digits).replace("  (", " (")


def speed(dataset: Path, repeats: int, steps: int, threads: int, size: str = "cpu", device: str = "cpu",
          families: tuple[str, ...] = FAMILIES) -> None:
    """Per-process speed and memory runs, the two families as interleaved pairs (order alternating); prints
    medians with spread and, for two families, the median of the per-pair ratios."""
    runs: dict[str, list[dict]] = {f: [] for f in families}

    def run(family: str) -> float:
        runs[family].append(_spawn(family, size, steps, dataset, threads, device))
        return runs[family][-1]["process_s"]

    pair = paired(lambda: run(families[0]), lambda: run(families[1]), repeats) if len(families) == 2 else None
    if pair is None:
        for _ in range(repeats):
            run(families[0])
    for family, rs in runs.items():
        rate_keys = [k for k in rs[0] if k.endswith("steps_per_s")]
        rates = ", ".join(f"{k} {_fmt([r[k] for r in rs])}" for k in rate_keys)
        print(f"  {family:9s} {size:8s} {device}: {rs[0]['parameters'] / 1e6:.1f}M parameters; {rates}; "
              f"peak memory {_fmt([r['peak_memory_mb'] for r in rs], ' MiB', 0)}; "
              f"whole worker process {_fmt([r['process_s'] for r in rs], ' s')}")
    if pair is not None:
        a, b = families
        base = [k for k in runs[a][0] if k.endswith("steps_per_s")][0]
        for key in (k for k in runs[b][0] if k.endswith("steps_per_s")):
            ratios = Spread([rb[key] / ra[base] for ra, rb in zip(runs[a], runs[b])])
            print(f"  {b} {key} / {a} {base}: {ratios.text(unit='x', digits=2)} (median of per-pair ratios)")
        mem = Spread([rb["peak_memory_mb"] / ra["peak_memory_mb"] for ra, rb in zip(runs[a], runs[b])])
        print(f"  {b} / {a} peak memory: {mem.text(unit='x', digits=2)}; whole worker process: "
              f"{pair.ratios.text(unit='x', digits=2)} (medians of per-pair ratios)")
    print(f"  {load_line()}")


def _score(model_dir: Path, dataset: Path) -> tuple[float, float]:
    """(held-out garment-region L1 of the packaged model's predictor, copy-the-agnostic L1)."""
    from components.train.data import select_samples
    from components.train.families import load_predictor
    from components.train.families.representation import load_sample_inputs
    from components.train.families.unet_gan.trainer import region_l1

    predictor = load_predictor(model_dir)
    items = [load_sample_inputs(s, predictor.size) for s in select_samples(dataset, "test").samples]
    return region_l1(predictor.predict_inputs(items), items)


def margin(dataset: Path, budget: int, every: int, threads: int, families: tuple[str, ...] = FAMILIES) -> None:
    """Training wall time until each family beats copying the agnostic image by MARGIN."""
    from components.train.families import get_family

    for family in families:
        with tempfile.TemporaryDirectory() as tmp_name:
            tmp, spent, reached = Path(tmp_name), 0.0, None
            gmm_steps = every  # gmm_tom: GMM first (fixed), then TOM in increments
            for steps in range(every, budget + 1, every):
                spec = json.loads(json.dumps(CPU_SIZE[family]))
                if family == "gmm_tom":
                    spec["gmm_tom"]["steps"] = {"gmm": gmm_steps, "tom": steps}
                from components.train.params import TrainParams

                params = TrainParams.model_validate({
                    "model": family, "device": "cpu", "num_threads": threads, "max_steps": steps,
                    "checkpoint_every": every, "cache_dir": str(tmp / "cache"),
                    "tracking": {"log_every": 10**6, "validate_every": 0}, **spec})
                t0 = time.perf_counter()
                get_family(family).train(_context(params, dataset, tmp, resume=True))
                spent += time.perf_counter() - t0
                ours, copy = _score(tmp / "model", dataset)
                label = f"{steps} steps" + (f" (after {gmm_steps} GMM steps)" if family == "gmm_tom" else "")
                print(f"  {family:9s} {label}: held-out region L1 {ours:.4f} vs copy {copy:.4f} "
                      f"(ratio {ours / copy:.3f}), {spent:.0f} s of family.train wall time so far "
                      "(setup, data, packaging included)", flush=True)
                if ours < MARGIN * copy:
                    reached = (steps, spent)
                    break
            if reached:
                print(f"  {family:9s} passes the {MARGIN} margin after {reached[0]} steps, "
                      f"{reached[1]:.0f} s of family.train wall time")
            else:
                print(f"  {family:9s} did not pass the {MARGIN} margin within {budget} steps ({spent:.0f} s)")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--steps", type=int, default=12)
    ap.add_argument("--budget", type=int, default=400)
    ap.add_argument("--every", type=int, default=50)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--skip-speed", action="store_true")
    ap.add_argument("--skip-margin", action="store_true")
    ap.add_argument("--families", nargs="+", choices=FAMILIES, default=list(FAMILIES))
    ap.add_argument("--worker", choices=FAMILIES)
    ap.add_argument("--size", default="cpu")
    ap.add_argument("--dataset", type=Path)
    ap.add_argument("--device", default="cpu")
    args = ap.parse_args()
    if args.worker:
        worker(args.worker, args.size, args.steps, args.dataset, args.threads, args.device)
        return
    import torch

    from tests.train.families.conftest import build_worn_dataset

    print(load_line())
    print("unet_gan parameters (generator + PatchGAN):")
    unet_gan_sizes()

    with tempfile.TemporaryDirectory() as tmp:
        t0 = time.perf_counter()
        dataset = build_worn_dataset(Path(tmp), _photos())
        print(f"dataset: {dataset} (annotated in {time.perf_counter() - t0:.0f} s; 9 train / 3 held-out people)")
        if not args.skip_speed:
            print(f"speed at the CPU size ({args.steps} steps per run after a 2-step warm-up, "
                  f"{args.threads} threads, interleaved, one process per run):")
            speed(dataset, args.repeats, args.steps, args.threads, families=tuple(args.families))
            if torch.cuda.is_available():
                for size in ("full", "768x1024"):
                    speed(dataset, args.repeats, args.steps, 0, size, "cuda", tuple(args.families))
            else:
                print("  full size and 768x1024 on CUDA: skipped (no CUDA device on this machine)")
        if not args.skip_margin:
            print(f"time to beat copying the agnostic image by {MARGIN} (held-out garment region, "
                  f"{args.threads} threads, CPU size):")
            margin(dataset, args.budget, args.every, args.threads, tuple(args.families))
            print(f"  {load_line()}")


if __name__ == "__main__":
    main()
