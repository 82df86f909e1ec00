"""The `gmm_tom` family: the trainer entry point the train stage calls, model.json, and the registry's Family."""

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
from components.train.families.gmm_tom.params import GmmTomParams

NAME = "gmm_tom"
FORMAT_VERSION = 1
LOSS_LABEL = "GMM loss (L1 + smoothness), then TOM loss (L1 + mask + VGG/style when on)"


def model_config(ctx: FamilyContext, steps: int, perceptual: str) -> dict:
    """model.json: family, the params that build the networks, frame size, annotate settings, provenance."""
    gp: GmmTomParams = ctx.params.gmm_tom
    w, h = gp.frame
    return {
        FAMILY_KEY: NAME,
        "format_version": FORMAT_VERSION,
        "kind": "gmm-tom",
        "profile": ctx.profile,
        "width": w,
        "height": h,
        "params": gp.model_dump(mode="json"),
        "annotate": ctx.annotate.model_dump(mode="json") if ctx.annotate is not None else None,
        **size_config(ctx),
        "perceptual": perceptual,
        "trained_steps": steps,
        "created_at": datetime.now(timezone.utc).isoformat(timespec="seconds"),
    }


def perceptual_terms(gp: GmmTomParams, device):
    """(PerceptualFn or None, PerceptualStatus): VGG19 from the model store, or off with the reason."""
    from components.train.families.gmm_tom.losses import vgg_terms
    from components.train.families.perceptual import PerceptualStatus, load_perceptual

    pp = gp.perceptual
    if not pp.enabled or (pp.weight == 0 and pp.style_weight == 0):
        return None, PerceptualStatus(False, "unavailable: switched off in train.gmm_tom.perceptual")
    features, status = load_perceptual(tuple(pp.layers), pp.weights, device=device)
    if features is None:
        return None, status
    return vgg_terms(features, tuple(pp.layer_weights)), status


CACHE_BUDGET_BYTES = 2 * 2**30  # keep decoded inputs in memory only while they fit in this


def _data(samples, size):
    """The samples' inputs at `size`, decoded once and kept in memory while they fit in CACHE_BUDGET_BYTES."""
    from components.train.families.gmm_tom.trainer import PairData
    from components.train.families.representation import TENSOR_FIELDS, load_sample_inputs

    data = PairData(len(samples), lambda i: load_sample_inputs(samples[i], size),
                    categories=[s.category for s in samples])
    if samples:
        first = data.item(0)
        per_sample = sum(getattr(first, name).numel() * 4 for name in TENSOR_FIELDS)
        data.cache = len(samples) * per_sample <= CACHE_BUDGET_BYTES
    return data


def train(ctx: FamilyContext) -> FamilyResult:
    """Train (or resume) GMM then TOM, write the model directory, log grids and figures; returns what happened."""
    from components.train.families.checkpoint import latest_checkpoint
    from components.train.families.predictor import write_model_dir
    from components.train.families.gmm_tom.pictures import loss_curves
    from components.train.families.gmm_tom.trainer import GmmTomTrainer, Schedule, peak_memory_mb, resolve_device

    gp: GmmTomParams = ctx.params.gmm_tom
    schedule = Schedule.from_train(ctx.params)
    print(f"train: gmm_tom trains GMM {gp.steps.gmm} + TOM {gp.steps.tom} steps at batch {gp.batch_size}, "
          f"lr {gp.learning_rate} (train.gmm_tom); train.max_steps, batch_size and learning_rate do not apply",
          file=sys.stderr)
    perceptual, status = perceptual_terms(gp, resolve_device(schedule.device))
    if not status.available:
        print(f"train: gmm_tom: the VGG19 perceptual and style terms are OFF ({status.detail}); TOM trains on L1 "
              "and the mask term only", file=sys.stderr)
    trainer = GmmTomTrainer(gp, _data(ctx.samples, gp.frame), ctx.checkpoint_dir, seed=ctx.seed, schedule=schedule,
                            perceptual=perceptual, val_data=_data(ctx.val_samples, gp.frame),
                            log_metrics=ctx.log_metrics, log_image=ctx.log_image,
                            size_conditioning=ctx.params.size_conditioning.enabled)
    resumed = None
    if ctx.resume and (ckpt := latest_checkpoint(ctx.checkpoint_dir)) is not None:
        trainer.load_checkpoint(ckpt)
        resumed = ckpt.name
        print(f"train: resumed from {ckpt} in phase {trainer.position.phase} at step {trainer.global_step}",
              file=sys.stderr)
    start = trainer.global_step
    counts = {f"{name}_parameters": sum(p.numel() for p in module.parameters())
              for name, module in (("gmm", trainer.model.gmm), ("tom", trainer.model.tom))}
    ctx.log_params({f"train.gmm_tom.{k}": v for k, v in counts.items()}
                   | {"train.gmm_tom.perceptual_status": status.detail})
    ctx.set_tags({PERCEPTUAL_TAG: status.detail})

    trainer.fit()
    steps = trainer.global_step
    config = write_model_dir(ctx.model_dir, model_config(ctx, steps, status.detail), trainer.model.generator_state())
    history = trainer.position.history
    ctx.log_image(loss_curves(history), "train/gmm_tom_loss_curves.png")
    curve = [(int(step), float(value)) for step, _phase, value in history]
    metrics: dict = {"steps": steps, "start_step": start, "samples": len(ctx.samples),
                     "gmm_steps": gp.steps.gmm, "tom_steps": gp.steps.tom, "perceptual": status.detail,
                     "gmm_steps_per_s": round(trainer.timing["gmm"].steps_per_s, 3),
                     "tom_steps_per_s": round(trainer.timing["tom"].steps_per_s, 3),
                     "peak_memory_mb": round(peak_memory_mb(trainer.device), 1), **counts}
    for phase in ("gmm", "tom"):
        values = [v for _, p, v in history if p == phase]
        if values:
            k = max(1, len(values) // 5)
            metrics[f"{phase}_loss_first"] = sum(values[:k]) / k
            metrics[f"{phase}_loss_last"] = sum(values[-k:]) / k
    # The stage falls back to the training pairs when there is no test split: say so rather than call it held out.
    held_out = not {s.sample_id for s in ctx.val_samples} <= {s.sample_id for s in ctx.samples}
    if ctx.val_samples:
        metrics.update(trainer.evaluate(), val_split="test" if held_out else "train (no test split)")
    summary = (f"gmm_tom: trained {steps} steps (GMM {gp.steps.gmm} + TOM {gp.steps.tom}, from {start}) on "
               f"{len(ctx.samples)} samples"
               + (f", {'held-out' if held_out else 'training-pair (no test split)'} garment-region L1 {metrics['val_region_l1']:.4f} (copying the agnostic image: "
                  f"{metrics['val_region_l1_copy_agnostic']:.4f}; warp {metrics['val_warp_l1']:.4f} vs unwarped "
                  f"{metrics['val_warp_l1_unwarped']:.4f})" if "val_region_l1" in metrics else "")
               + f"; perceptual {status.detail}")
    return FamilyResult(steps=steps, losses=curve, metrics=metrics, config=config, start_step=start,
                        resumed_from=resumed, summary=summary, loss_label=LOSS_LABEL)


def load_predictor(model_dir, device: str = "cpu"):
    """The gmm_tom predictor of `model_dir`."""
    from components.train.families.gmm_tom.predictor import load_predictor as load

    return load(model_dir, device)


FAMILY = Family(name=NAME, params_model=GmmTomParams, train=train, load_predictor=load_predictor,
                description="CP-VTON / VITON-HD style: GMM (correlation + 5x5 TPS warp), then TOM (U-Net render + "
                            "composition mask); L1, smoothness, VGG19 perceptual + style, optional LSGAN")
