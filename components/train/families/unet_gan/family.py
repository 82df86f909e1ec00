"""The `unet_gan` family: trainer entry point, model.json, and the registry's Family object."""

from __future__ import annotations

import sys
from datetime import datetime, timezone

from components.train.families.base import (
    FAMILY_KEY,
    PERCEPTUAL_TAG,
    Family,
    FamilyContext,
    FamilyResult,
    size_config,
)
from components.train.families.unet_gan.params import UnetGanParams

NAME = "unet_gan"
FORMAT_VERSION = 1


def model_config(ctx: FamilyContext, steps: int, perceptual: str) -> dict:
    """model.json: family, network sizes, resolution, the annotate settings serving must reuse, provenance."""
    gp = ctx.params.unet_gan
    return {
        FAMILY_KEY: NAME,
        "format_version": FORMAT_VERSION,
        "kind": "unet-gan",
        "profile": ctx.profile,
        "width": gp.width,
        "height": gp.height,
        "network": {"base_channels": gp.base_channels, "bottleneck_channels": gp.bottleneck_channels,
                    "res_blocks": gp.res_blocks, "attention": gp.attention},
        "annotate": ctx.annotate.model_dump(mode="json") if ctx.annotate is not None else None,
        **size_config(ctx),
        "perceptual": perceptual,
        "trained_steps": steps,
        "created_at": datetime.now(timezone.utc).isoformat(timespec="seconds"),
    }


def train(ctx: FamilyContext) -> FamilyResult:
    """Train (or resume) the U-Net GAN, write the model directory, log grids; returns what happened."""
    from components.train.families.checkpoint import latest_checkpoint
    from components.train.families.predictor import write_model_dir
    from components.train.families.unet_gan.trainer import HEADLINE, UnetGanTrainer, region_l1

    trainer = UnetGanTrainer(ctx)
    resumed = None
    if ctx.resume and (ckpt := latest_checkpoint(ctx.checkpoint_dir)) is not None:
        trainer.load(ckpt)
        resumed = ckpt.name
        print(f"train: resumed from {ckpt} at step {trainer.position.step}", file=sys.stderr)
    counts = trainer.parameter_counts()
    ctx.log_params({f"train.unet_gan.{k}": v for k, v in counts.items()}
                   | {"train.unet_gan.perceptual_status": trainer.perceptual.detail})
    ctx.set_tags({PERCEPTUAL_TAG: trainer.perceptual.detail})

    def validate(step: int) -> None:
        if (sheet := trainer.grid()) is not None:
            ctx.log_image(sheet, f"train/validation_step{step:06d}.png")

    loop = trainer.fit(ctx.log_metrics, validate)
    config = write_model_dir(ctx.model_dir, model_config(ctx, loop.steps, trainer.perceptual.detail),
                             trainer.G.state_dict())
    validate(loop.steps)
    metrics: dict = {"steps": loop.steps, "start_step": loop.start_step, "samples": len(ctx.samples),
                     "step_time_s": round(loop.step_time_s, 4), "samples_per_s": round(loop.samples_per_s, 4),
                     "perceptual": trainer.perceptual.detail, **counts}
    curve = loop.headline(HEADLINE)
    if curve:
        k = max(1, len(curve) // 5)
        metrics["loss_first"] = sum(v for _, v in curve[:k]) / k
        metrics["loss_last"] = sum(v for _, v in curve[-k:]) / k
    if trainer.val:
        ours, copy = region_l1(trainer.predict(trainer.val), trainer.val)
        metrics.update(val_region_l1=ours, val_region_l1_copy_agnostic=copy)
    summary = (f"unet_gan: trained {loop.steps} steps (from {loop.start_step}) on {len(ctx.samples)} samples, "
               f"{HEADLINE} {metrics.get('loss_first', float('nan')):.4f} -> "
               f"{metrics.get('loss_last', float('nan')):.4f}"
               + (f", held-out garment-region L1 {metrics['val_region_l1']:.4f} (copying the agnostic image: "
                  f"{metrics['val_region_l1_copy_agnostic']:.4f})" if "val_region_l1" in metrics else "")
               + f"; perceptual {trainer.perceptual.detail}")
    return FamilyResult(steps=loop.steps, losses=curve, metrics=metrics, config=config, start_step=loop.start_step,
                        resumed_from=resumed, summary=summary, loss_label=f"generator loss ({HEADLINE})")


def load_predictor(model_dir, device: str = "cpu"):
    """The unet_gan predictor of `model_dir`."""
    from components.train.families.unet_gan.predictor import load_predictor as load

    return load(model_dir, device)


FAMILY = Family(name=NAME, params_model=UnetGanParams, train=train, load_predictor=load_predictor,
                description="U-Net + self-attention generator against a spectral-norm PatchGAN (LSGAN, FM, L1, VGG)")
