"""Full-size FLUX.1 Fill training and inference cost on one GPU, with random weights (no download needed).

    python benchmarks/train_gpu.py [--steps 20] [--panel 768x1024] [--modes lora,attention] [--no-inference]

For LoRA r=16 and attention-only fine-tuning, each with and without gradient checkpointing: step time,
samples/s and peak memory of the trainer's own flow-matching step (bf16 weights, fp32 trainable weights,
8-bit AdamW when bitsandbytes is installed) on a (garment | person) canvas of two panels; then the time of one
28-step try-on inference at that size. Text embeddings are random tensors of FLUX.1's shapes (the trainer
caches them, so the text encoders never run during training). Targets (issue 7): LoRA under 40 GB peak on
one GPU; inference under 30 s, ideally under 10 s.
"""

from __future__ import annotations

import argparse
import gc
import sys
import time
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

FLUX_TRANSFORMER = dict(
    patch_size=1, in_channels=384, out_channels=64, num_layers=19, num_single_layers=38, attention_head_dim=128,
    num_attention_heads=24, joint_attention_dim=4096, pooled_projection_dim=768, guidance_embeds=True,
    axes_dims_rope=(16, 56, 56),
)
FLUX_VAE = dict(
    in_channels=3, out_channels=3, latent_channels=16, block_out_channels=(128, 256, 512, 512),
    down_block_types=("DownEncoderBlock2D",) * 4, up_block_types=("UpDecoderBlock2D",) * 4, layers_per_block=2,
    scaling_factor=0.3611, shift_factor=0.1159, use_quant_conv=False, use_post_quant_conv=False,
)


def random_transformer():
    """FLUX.1 Fill's transformer with random bf16 weights, built directly on the GPU."""
    from diffusers import FluxTransformer2DModel

    torch.set_default_dtype(torch.bfloat16)
    try:
        with torch.device("cuda"):
            model = FluxTransformer2DModel(**FLUX_TRANSFORMER)
    finally:
        torch.set_default_dtype(torch.float32)
    return model


def synthetic_batch(panel: tuple[int, int]) -> tuple[dict, dict]:
    """A cached-latent batch of one canvas and FLUX.1-shaped text embeddings for three categories."""
    w, h = panel
    lat_h, lat_w = h // 8, 2 * w // 8
    batch = {
        "latents": torch.randn(1, 16, lat_h, lat_w),
        "masked_latents": torch.randn(1, 16, lat_h, lat_w),
        "mask": torch.zeros(1, 1, h, 2 * w, dtype=torch.uint8),
        "category": torch.tensor([0]),
        "ratios": torch.ones(1, 1),
    }
    batch["mask"][..., w:] = 1
    text = {"prompt_embeds": torch.randn(3, 512, 4096), "pooled": torch.randn(3, 768)}
    return batch, text


def measure_training(mode: str, checkpointing: bool, panel: tuple[int, int], steps: int) -> dict:
    """Step time, samples/s and peak memory of `steps` training steps (after 3 warm-up steps)."""
    from components.train.adapters import apply_adapters
    from components.train.params import TimestepParams, TrainParams
    from components.train.step import StepConfig, flow_matching_loss

    params = TrainParams(mode=mode, lora_rank=16, lora_alpha=16.0, mixed_precision="bf16")
    torch.cuda.empty_cache()
    torch.cuda.reset_peak_memory_stats()
    model = random_transformer()
    trainable = apply_adapters(model, params)
    for p in trainable:
        p.data = p.data.float()
    if checkpointing:
        model.enable_gradient_checkpointing()
    model.train()
    try:
        import bitsandbytes as bnb

        opt, opt_name = bnb.optim.AdamW8bit(trainable, lr=1e-4), "adamw8bit"
    except ImportError:
        opt, opt_name = torch.optim.AdamW(trainable, lr=1e-4), "adamw (bitsandbytes not installed)"
    batch, text = synthetic_batch(panel)
    cfg = StepConfig(TimestepParams(), 30.0, 8)
    n_train = sum(p.numel() for p in trainable)
    result = {"mode": mode, "checkpointing": checkpointing, "trainable_params_m": n_train / 1e6, "optimizer": opt_name}
    try:
        times = []
        for i in range(3 + steps):
            torch.cuda.synchronize()
            t0 = time.perf_counter()
            with torch.autocast("cuda", dtype=torch.bfloat16):
                loss = flow_matching_loss(model, batch, text, cfg, torch.Generator().manual_seed(i))
            loss.backward()
            torch.nn.utils.clip_grad_norm_(trainable, 1.0)
            opt.step()
            opt.zero_grad(set_to_none=True)
            torch.cuda.synchronize()
            if i >= 3:
                times.append(time.perf_counter() - t0)
        step = sum(times) / len(times)
        result.update(step_time_s=step, samples_per_s=1 / step,
                      peak_memory_gb=torch.cuda.max_memory_allocated() / 2**30, loss=float(loss))
    except torch.cuda.OutOfMemoryError:
        result.update(step_time_s=None, samples_per_s=None, peak_memory_gb=None, error="CUDA out of memory")
    del model, opt, trainable
    gc.collect()
    torch.cuda.empty_cache()
    return result


def measure_inference(panel: tuple[int, int], steps: int = 28) -> dict:
    """Wall time of one try-on inference (FluxFillPipeline, `steps` steps, canvas of two panels), bf16."""
    from diffusers import AutoencoderKL, FlowMatchEulerDiscreteScheduler, FluxFillPipeline
    from PIL import Image

    torch.cuda.empty_cache()
    torch.cuda.reset_peak_memory_stats()
    transformer = random_transformer().eval()
    vae = AutoencoderKL(**FLUX_VAE).to("cuda", torch.bfloat16).eval()
    pipe = FluxFillPipeline(
        scheduler=FlowMatchEulerDiscreteScheduler(shift=1.0, use_dynamic_shifting=True, base_image_seq_len=256,
                                                  max_image_seq_len=4096, base_shift=0.5, max_shift=1.15),
        vae=vae, text_encoder=None, tokenizer=None, text_encoder_2=None, tokenizer_2=None, transformer=transformer,
    )
    pipe.set_progress_bar_config(disable=True)
    w, h = panel
    canvas = Image.new("RGB", (2 * w, h), (128, 100, 90))
    mask = Image.new("L", (2 * w, h), 0)
    mask.paste(255, (w, 0, 2 * w, h))
    embeds = torch.randn(1, 512, 4096, device="cuda", dtype=torch.bfloat16)
    pooled = torch.randn(1, 768, device="cuda", dtype=torch.bfloat16)

    def run(n: int) -> float:
        torch.cuda.synchronize()
        t0 = time.perf_counter()
        with torch.no_grad():
            pipe(image=canvas, mask_image=mask, prompt_embeds=embeds, pooled_prompt_embeds=pooled, height=h,
                 width=2 * w, num_inference_steps=n, guidance_scale=30.0)
        torch.cuda.synchronize()
        return time.perf_counter() - t0

    run(2)  # warm-up (kernels, allocator)
    seconds = run(steps)
    return {"steps": steps, "seconds": seconds, "peak_memory_gb": torch.cuda.max_memory_allocated() / 2**30}


def main() -> None:
    """Print the training table and the inference time."""
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--steps", type=int, default=20)
    ap.add_argument("--panel", default="768x1024", help="WIDTHxHEIGHT of one panel")
    ap.add_argument("--modes", default="lora,attention")
    ap.add_argument("--no-inference", action="store_true")
    args = ap.parse_args()
    if not torch.cuda.is_available():
        print("no CUDA device: this benchmark needs a GPU (figures not recorded)")
        sys.exit(0)
    panel = tuple(int(v) for v in args.panel.lower().split("x"))
    print(f"device: {torch.cuda.get_device_name(0)}; panel {panel[0]}x{panel[1]} "
          f"(canvas {2 * panel[0]}x{panel[1]}), bf16, batch 1, {args.steps} timed steps")
    print(f"{'mode':<10} {'grad ckpt':<9} {'trainable M':>11} {'step s':>8} {'samples/s':>9} {'peak GB':>8}  optimizer")
    for mode in args.modes.split(","):
        for ckpt in (False, True):
            r = measure_training(mode, ckpt, panel, args.steps)
            if r.get("error"):
                print(f"{mode:<10} {str(ckpt):<9} {r['trainable_params_m']:>11.1f} {r['error']}")
            else:
                print(f"{mode:<10} {str(ckpt):<9} {r['trainable_params_m']:>11.1f} {r['step_time_s']:>8.3f} "
                      f"{r['samples_per_s']:>9.2f} {r['peak_memory_gb']:>8.1f}  {r['optimizer']}", flush=True)
    if not args.no_inference:
        inf = measure_inference(panel)
        print(f"inference: {inf['steps']} steps in {inf['seconds']:.1f} s (peak {inf['peak_memory_gb']:.1f} GB)")


if __name__ == "__main__":
    main()
