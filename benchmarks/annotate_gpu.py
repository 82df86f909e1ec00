"""GPU throughput of the Annotate II networks: images/s and peak memory at batch 1/8/32, 768x1024 inputs.

Uses random weights in the official architectures (speed does not depend on the weight values), so it runs
without the checkpoints. Needs CUDA; prints a line and exits 0 without it.

    python benchmarks/annotate_gpu.py [--batches 1 8 32] [--repeats 3]
"""

from __future__ import annotations

import argparse
import time

import numpy as np
import torch


def _timed(fn, repeats: int) -> tuple[float, float]:
    """(best seconds per call, peak GiB) over `repeats` calls after one warm-up call."""
    fn()
    torch.cuda.synchronize()
    torch.cuda.reset_peak_memory_stats()
    best = float("inf")
    for _ in range(repeats):
        t = time.perf_counter()
        fn()
        torch.cuda.synchronize()
        best = min(best, time.perf_counter() - t)
    return best, torch.cuda.max_memory_allocated() / 2**30


def main() -> None:
    """Print one row per network, precision and batch size."""
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--batches", type=int, nargs="+", default=[1, 8, 32])
    ap.add_argument("--repeats", type=int, default=3)
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
    print(f"device: {torch.cuda.get_device_name(0)}; input 768x1024")
    print(f"{'network':<22}{'dtype':<9}{'batch':>6}{'images/s':>11}{'peak GiB':>10}")
    torch.set_grad_enabled(False)
    for ds in (LIP, ATR):
        for dtype in (torch.float32, torch.float16):
            net = SCHPNet(ds.num_classes).eval().to(dev, dtype)
            for b in args.batches:
                secs, peak = _timed(lambda: parse_images(net, [image] * b, ds.input_size, dtype), args.repeats)
                print(f"{'schp_' + ds.name:<22}{str(dtype)[6:]:<9}{b:>6}{b / secs:>11.2f}{peak:>10.2f}")
            del net
            torch.cuda.empty_cache()
    for dtype in (torch.float32, torch.float16):
        net = DensePoseRCNN().eval().to(dev, dtype)
        for b in args.batches:
            # min_score 0 so the DensePose head always runs (random weights score low)
            secs, peak = _timed(lambda: run_densepose(net, [image] * b, 0.0, 800, 1333, dtype), args.repeats)
            print(f"{'densepose_r50_fpn':<22}{str(dtype)[6:]:<9}{b:>6}{b / secs:>11.2f}{peak:>10.2f}")
        del net
        torch.cuda.empty_cache()
    for dtype in (torch.float32, torch.float16):
        net = OpenPoseBodyNet().eval().to(dev, dtype)
        # The OpenPose decoder works one image at a time (CPU PAF matching); report per-image throughput.
        secs, peak = _timed(lambda: detect_people(net, image), args.repeats)
        print(f"{'openpose_body':<22}{str(dtype)[6:]:<9}{1:>6}{1 / secs:>11.2f}{peak:>10.2f}")
        del net
        torch.cuda.empty_cache()


if __name__ == "__main__":
    main()
