"""The two training recipes side by side on one GPU: step time and peak memory at full size, random weights.

    python benchmarks/train_recipes_gpu.py [--steps 4] [--warmup 1] [--rounds 1] [--panel WxH] [--no-grad-ckpt]
    python benchmarks/train_recipes_gpu.py --tiny     # CPU: the tiny random model, proves the script runs

Each recipe (train.recipe: catvton_flux, vton_lora) trains FLUX.1 Fill dev's transformer (random bf16 weights
of the real architecture, built on the GPU: no download) with the trainer's own pieces: its adapters (attention
fine-tuning or LoRA r16), optimizer choice (8-bit AdamW when bitsandbytes is installed), flow-matching step
(training guidance, sigma sampling from FLUX.1-dev's scheduler config, loss region) and its gradient
accumulation. One optimizer step is `gradient_accumulation_steps` micro-batches of batch 1, so the table gives
both: the median and spread (min-max) of optimizer-step times, the median micro-batch time, and the peak CUDA
memory. Each recipe runs at its own first panel size unless --panel sets one for both (for like-for-like cost).
The two recipes never share the GPU (peak memory would mix); with --rounds > 1 they alternate as interleaved
pairs (A B, B A, ...), each run building its model afresh, and every figure pools the rounds.
Text embeddings are random tensors of FLUX.1's shapes (the trainer caches them; the encoders never train).
"""

from __future__ import annotations

import argparse
import gc
import statistics
import sys
import time
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks.lib.timing import Spread, load_line  # noqa: E402

RECIPE_NAMES = ("catvton_flux", "vton_lora")
# FLUX.1 [dev]'s scheduler config (the reference trainer reads FLUX.1-dev's scheduler folder).
FLUX_DEV_SCHEDULER = {"num_train_timesteps": 1000, "shift": 3.0, "use_dynamic_shifting": True, "base_shift": 0.5,
                      "max_shift": 1.15, "base_image_seq_len": 256, "max_image_seq_len": 4096}


def build_model(tiny: bool):
    """(transformer, latent channels, pixels per latent, text shapes): FLUX.1 Fill at full size, or the tiny one."""
    if tiny:
        from components.train.params import TinyModelParams
        from components.train.tiny import build_tiny_fill_pipeline

        spec = TinyModelParams()
        pipe = build_tiny_fill_pipeline(spec)
        vae_scale = 2 ** (len(spec.vae_block_out_channels) - 1)
        return pipe.transformer, spec.vae_latent_channels, vae_scale, (spec.max_sequence_length,
                                                                       spec.joint_attention_dim,
                                                                       spec.pooled_projection_dim)
    from benchmarks.train_gpu import random_transformer

    return random_transformer(), 16, 8, (512, 4096, 768)


def synthetic_batch(panel: tuple[int, int], channels: int, vae_scale: int, text_shape: tuple[int, int, int]):
    """One cached-latent (garment | person) canvas with the person half masked, and text for three categories."""
    w, h = panel
    lat_h, lat_w = h // vae_scale, 2 * w // vae_scale
    batch = {
        "latents": torch.randn(1, channels, lat_h, lat_w),
        "masked_latents": torch.randn(1, channels, lat_h, lat_w),
        "mask": torch.zeros(1, 1, h, 2 * w, dtype=torch.uint8),
        "category": torch.tensor([0]),
        "ratios": torch.ones(1, 1),
    }
    batch["mask"][..., w:] = 1
    tokens, dim, pooled = text_shape
    return batch, {"prompt_embeds": torch.randn(3, tokens, dim), "pooled": torch.randn(3, pooled)}


def _peak_gb(device: torch.device) -> float:
    from components.train.trainer import peak_memory_mb

    return peak_memory_mb(device) / 1024


def measure(recipe: str, args, device: torch.device) -> dict:
    """Optimizer-step and micro-batch times and peak memory of `recipe` for `args.steps` timed steps."""
    from components.train.adapters import apply_adapters
    from components.train.flow_matching import scheduler_training_sigmas
    from components.train.params import TrainParams
    from components.train.step import StepConfig, flow_matching_loss
    from components.train.trainer import _make_optimizer

    cuda = device.type == "cuda"
    params = TrainParams(recipe=recipe, mixed_precision="bf16" if cuda else "no")
    panel = args.panel or tuple(params.buckets[0])
    if args.tiny:
        panel = (32, 32)
    accum = params.gradient_accumulation_steps
    if cuda:
        torch.cuda.empty_cache()
        torch.cuda.reset_peak_memory_stats()
    model, channels, vae_scale, text_shape = build_model(args.tiny)
    model.to(device)
    trainable = apply_adapters(model, params)
    for p in trainable:
        p.data = p.data.float()  # the trainer keeps trainable weights in fp32 over bf16 frozen ones
    if args.grad_ckpt:
        model.enable_gradient_checkpointing()
    model.train()
    optimizer, opt_name = _make_optimizer(params, trainable, device)
    grid = scheduler_training_sigmas(FLUX_DEV_SCHEDULER) if params.timesteps.sampling == "scheduler" else None
    cfg = StepConfig(params.timesteps, params.train_guidance_scale, vae_scale, params.loss_region, grid)
    batch, text = synthetic_batch(panel, channels, vae_scale, text_shape)
    row = {"recipe": recipe, "panel": f"{panel[0]}x{panel[1]}", "mode": params.mode, "accum": accum,
           "trainable_m": sum(p.numel() for p in trainable) / 1e6, "optimizer": opt_name}
    autocast = torch.autocast("cuda", dtype=torch.bfloat16) if cuda else torch.autocast("cpu", enabled=False)
    step_times, micro_times = [], []
    try:
        for i in range(args.warmup + args.steps):
            if cuda:
                torch.cuda.synchronize()
            t0 = time.perf_counter()
            for j in range(accum):
                tm = time.perf_counter()
                with autocast:
                    loss = flow_matching_loss(model, batch, text, cfg, torch.Generator().manual_seed(i * accum + j))
                (loss / accum).backward()
                if cuda:
                    torch.cuda.synchronize()
                if i >= args.warmup:
                    micro_times.append(time.perf_counter() - tm)
            torch.nn.utils.clip_grad_norm_(trainable, params.optimizer.max_grad_norm)
            optimizer.step()
            optimizer.zero_grad(set_to_none=True)
            if cuda:
                torch.cuda.synchronize()
            if i >= args.warmup:
                step_times.append(time.perf_counter() - t0)
        row.update(step_times=step_times, micro_s=statistics.median(micro_times), peak_gb=_peak_gb(device),
                   loss=float(loss.detach()))
    except torch.cuda.OutOfMemoryError:
        row.update(error="CUDA out of memory", peak_gb=_peak_gb(device))
    del model, optimizer, trainable
    gc.collect()
    if cuda:
        torch.cuda.empty_cache()
    return row


def _table(rows: list[dict]) -> None:
    """One line per recipe, pooling its rounds: optimizer-step time, micro-batch time, peak memory."""
    print(f"{'recipe':<13} {'panel':<9} {'mode':<9} {'accum':>5} {'trainable M':>11}  {'optimizer step':<32} "
          f"{'micro-batch':>11} {'peak GB':>8}  optimizer")
    for name in dict.fromkeys(r["recipe"] for r in rows):
        runs = [r for r in rows if r["recipe"] == name]
        r = runs[0]
        head = f"{name:<13} {r['panel']:<9} {r['mode']:<9} {r['accum']:>5} {r['trainable_m']:>11.2f}  "
        failed = [x for x in runs if x.get("error")]
        if failed:
            print(head + f"{failed[0]['error']} (peak {max(x['peak_gb'] for x in failed):.1f} GB)")
            continue
        steps = Spread([t for x in runs for t in x["step_times"]])
        micro = statistics.median(x["micro_s"] for x in runs)
        print(head + f"{steps.text():<32} {micro:>9.3f} s {max(x['peak_gb'] for x in runs):>8.2f}  {r['optimizer']}",
              flush=True)


def main() -> None:
    """Print one row per recipe (and round): optimizer-step time, micro-batch time, peak memory."""
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--steps", type=int, default=4, help="timed optimizer steps per recipe")
    ap.add_argument("--warmup", type=int, default=1, help="untimed optimizer steps first (kernels, allocator)")
    ap.add_argument("--rounds", type=int, default=1, help="alternate the recipes this many times")
    ap.add_argument("--panel", default=None, help="WIDTHxHEIGHT of one panel for both recipes (default: each its own)")
    ap.add_argument("--no-grad-ckpt", dest="grad_ckpt", action="store_false",
                    help="without gradient checkpointing (the test and full profiles turn it on)")
    ap.add_argument("--recipes", default=",".join(RECIPE_NAMES))
    ap.add_argument("--tiny", action="store_true", help="the tiny random model on the CPU (a check that it runs)")
    args = ap.parse_args()
    args.panel = tuple(int(v) for v in args.panel.lower().split("x")) if args.panel else None
    if not args.tiny and not torch.cuda.is_available():
        print("no CUDA device: train_recipes_gpu.py needs a GPU; skipped, no figures recorded "
              "(--tiny runs the tiny model on the CPU to check the script)")
        return
    device = torch.device("cpu" if args.tiny else "cuda")
    if args.tiny:
        torch.set_num_threads(1)
        print("tiny random FLUX Fill on the CPU, panel 32x32: proves the script runs; figures are not GPU figures "
              "(peak memory is the process's peak RSS)")
    else:
        print(f"device: {torch.cuda.get_device_name(0)}; FLUX.1 Fill dev transformer, random bf16 weights, "
              f"fp32 trainable weights, bf16 autocast, batch 1, grad checkpointing {args.grad_ckpt}, "
              f"{args.steps} timed optimizer steps after {args.warmup} warm-up, {args.rounds} round(s)")
    print(load_line())
    names = args.recipes.split(",")
    rows = [measure(name, args, device) for i in range(args.rounds) for name in (names if i % 2 == 0 else names[::-1])]
    _table(rows)


if __name__ == "__main__":
    main()
