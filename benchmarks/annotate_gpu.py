"""GPU throughput of the Annotate II networks: images/s and peak memory at batch 1/8/32, 768x1024 inputs.

Uses random weights in the official architectures (speed does not depend on the weight values), so it runs
without the checkpoints. Needs CUDA; prints a line and exits 0 without it.

    python benchmarks/annotate_gpu.py [--batches 1 8 32] [--repeats 5]
    python benchmarks/annotate_gpu.py --batches 1 --repeats 2      # a quick check that it runs

Per network and batch size, float32 and float16 run as interleaved pairs (the order alternating, one warm-up
call each first; benchmarks/lib/timing.py): each side's images/s as the median with its min-max spread, the
float16 speed-up as the median of the per-pair ratios, and each side's peak memory (its weights plus the
call's largest working set). The machine's load is printed before and after.
"""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks.lib.timing import Spread, load_line, paired  # noqa: E402


class CudaCall:
    """One timed CUDA call (synchronised on both sides) that keeps the largest peak memory it has seen."""

    def __init__(self, fn: Callable[[], object], net: torch.nn.Module) -> None:
        self.fn = fn
        self.weights = sum(p.numel() * p.element_size() for p in net.parameters())
        self.peak_bytes = 0

    def __call__(self) -> float:
        """Seconds of one call; records its weights plus its working set above what was resident before."""
        torch.cuda.synchronize()
        resident = torch.cuda.memory_allocated()
        torch.cuda.reset_peak_memory_stats()
        t0 = time.perf_counter()
        self.fn()
        torch.cuda.synchronize()
        seconds = time.perf_counter() - t0
        self.peak_bytes = max(self.peak_bytes, torch.cuda.max_memory_allocated() - resident + self.weights)
        return seconds


def compare(name: str, batch: int, fp32: CudaCall, fp16: CudaCall, repeats: int) -> None:
    """Warm both calls up, time them as interleaved pairs and print one row."""
    fp32()
    fp16()
    fp32.peak_bytes = fp16.peak_bytes = 0
    pair = paired(fp32, fp16, repeats)
    rate32 = Spread([batch / s for s in pair.a.values]).text(unit="img/s", digits=2)
    rate16 = Spread([batch / s for s in pair.b.values]).text(unit="img/s", digits=2)
    speed_up = Spread([1 / r for r in pair.ratios.values]).text(unit="x", digits=2)
    print(f"{name:<20}{batch:>6}  fp32 {rate32}  fp16 {rate16}  fp16 speed-up {speed_up}  "
          f"peak GiB fp32 {fp32.peak_bytes / 2**30:.2f}, fp16 {fp16.peak_bytes / 2**30:.2f}")


def main() -> None:
    """Print one row per network and batch size: both precisions as interleaved pairs."""
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--batches", type=int, nargs="+", default=[1, 8, 32])
    ap.add_argument("--repeats", type=int, default=5)
    args = ap.parse_args()
    if not torch.cuda.is_available():
        print("annotate_gpu: no CUDA device; nothing measured")
        return
    from components.annotate.networks.densepose import DensePoseRCNN, run_densepose
    from components.annotate.networks.openpose_body import OpenPoseBodyNet, detect_people
    from components.annotate.networks.schp import ATR, LIP, SCHPNet, parse_images

    dev = torch.device("cuda")
    rng = np.random.default_rng(0)
    image = rng.integers(0, 255, (1024, 768, 3), dtype=np.uint8)
    print(load_line())
    print(f"device: {torch.cuda.get_device_name(0)}; input 768x1024; {args.repeats} interleaved pairs per row; "
          "images/s as median (min-max, n)")
    torch.set_grad_enabled(False)

    def both(make: Callable[[], torch.nn.Module]) -> tuple[torch.nn.Module, torch.nn.Module]:
        return make().eval().to(dev, torch.float32), make().eval().to(dev, torch.float16)

    for ds in (LIP, ATR):
        n32, n16 = both(lambda: SCHPNet(ds.num_classes))
        for b in args.batches:
            compare(f"schp_{ds.name}", b,
                    CudaCall(lambda: parse_images(n32, [image] * b, ds.input_size, torch.float32), n32),
                    CudaCall(lambda: parse_images(n16, [image] * b, ds.input_size, torch.float16), n16), args.repeats)
        del n32, n16
        torch.cuda.empty_cache()
    n32, n16 = both(DensePoseRCNN)
    for b in args.batches:
        # min_score 0 so the DensePose head always runs (random weights score low)
        compare("densepose_r50_fpn", b,
                CudaCall(lambda: run_densepose(n32, [image] * b, 0.0, 800, 1333, torch.float32), n32),
                CudaCall(lambda: run_densepose(n16, [image] * b, 0.0, 800, 1333, torch.float16), n16), args.repeats)
    del n32, n16
    torch.cuda.empty_cache()
    # The OpenPose decoder works one image at a time (CPU PAF matching): per-image throughput only.
    n32, n16 = both(OpenPoseBodyNet)
    compare("openpose_body", 1, CudaCall(lambda: detect_people(n32, image), n32),
            CudaCall(lambda: detect_people(n16, image), n16), args.repeats)
    print(load_line())


if __name__ == "__main__":
    main()
