"""The `catvton_flux` family: the CatVTON-Flux in-context trainer (components/train/trainer.py) behind the contract.

The trainer, step, canvas, adapters, base model, caches and TryOnPipeline stay where they are; this module
only adapts them: FamilyContext in, the overfit gate and validation grids as before, FamilyResult out.
"""

from __future__ import annotations

import sys
from pathlib import Path

from components.train.families.base import (
    FAMILY_KEY,
    SIZE_CONFIG_KEY,
    Family,
    FamilyContext,
    FamilyResult,
    size_config,
)
from components.tracking.contract import Metric, metric_key

NAME = "catvton_flux"


def _use_cuda(tp) -> bool:
    import torch

    return tp.device == "cuda" or (tp.device == "auto" and torch.cuda.is_available())


def preflight(tp) -> None:
    """Missing base weights fail in a second, before any data work."""
    from components.train.base_model import preflight as base_preflight

    base_preflight(tp)


def train(ctx: FamilyContext) -> FamilyResult:
    """Train CatVTON-Flux adapters (gate, checkpoints, grids), write models/candidate; returns what happened."""
    from components.train.automask import ANNOTATE_KEY
    from components.train.base_model import load_base
    from components.train.package import model_config, save_base_snapshot, write_candidate
    from components.train.report import LOSS_REGION_LABELS
    from components.train.trainer import Trainer, latest_checkpoint, run_summary

    tp = ctx.params
    cache_dir = Path(ctx.cache_dir or tp.cache_dir)
    base = load_base(tp, device="cuda" if _use_cuda(tp) else "cpu")
    base_dir = save_base_snapshot(base.pipe, cache_dir, base.fingerprint) if base.spec["kind"] == "tiny" else None
    trainer = Trainer(tp, ctx.samples, ctx.checkpoint_dir, seed=ctx.seed, base=base, log_fn=ctx.log_metrics)
    resumed = None
    if ctx.resume and (ckpt := latest_checkpoint(ctx.checkpoint_dir)) is not None:
        trainer.load_checkpoint(ckpt)
        resumed = ckpt.name
        print(f"train: resumed from {ckpt} at step {trainer.position.step}", file=sys.stderr)
    gate = None
    if tp.gate.enabled and trainer.position.step == 0:
        gate = trainer.run_gate()
        ctx.log_metrics({metric_key(Metric.TRAIN, "gate_initial_loss"): gate.initial_loss,
                         metric_key(Metric.TRAIN, "gate_final_loss"): gate.final_loss,
                         metric_key(Metric.TRAIN, "gate_factor"): gate.factor}, 0)

    config = model_config(tp, base.spec, ctx.profile)
    config[FAMILY_KEY] = NAME
    config[SIZE_CONFIG_KEY] = {**config[SIZE_CONFIG_KEY], **size_config(ctx)[SIZE_CONFIG_KEY]}
    # The masks it learnt from were made with these, and serving annotates a bare photo for its worn region (the
    # size map) with them: `vton tryon` and the pyfunc make their masks alike.
    config[ANNOTATE_KEY] = ctx.annotate.model_dump(mode="json") if ctx.annotate is not None else None

    def on_step(step: int, _loss: float) -> None:
        every = tp.tracking.validate_every
        if every and step % every == 0 and step < tp.max_steps and trainer.accelerator.is_main_process:
            _log_grid(trainer, config, ctx, step)

    result = trainer.fit(on_step)
    result.resumed_from, result.gate = resumed, gate
    main = trainer.accelerator.is_main_process
    if main:
        config["trained_steps"] = result.steps
        transformer = trainer.unwrapped_transformer()
        size = trainer.accelerator.unwrap_model(trainer.size) if trainer.size is not None else None
        write_candidate(ctx.model_dir, transformer, tp, config, size, base_dir)
        _log_grid(trainer, config, ctx, result.steps)

    def finish() -> None:
        trainer.accelerator.wait_for_everyone()
        trainer.accelerator.end_training()

    return FamilyResult(
        steps=result.steps, losses=list(enumerate(result.losses, start=1)),
        metrics={**result.metrics(), "optimizer": result.optimizer}, config=config, start_step=result.start_step,
        resumed_from=resumed, summary=run_summary(result),
        loss_label=f"flow-matching loss ({LOSS_REGION_LABELS.get(tp.loss_region, tp.loss_region)})",
        is_main_process=main, finish=finish,
    )


def _log_grid(trainer, config: dict, ctx: FamilyContext, step: int) -> None:
    """Generate the validation grid with the current weights and log it to the run."""
    from components.train.inference import TryOnPipeline
    from components.train.report import validation_grid
    from components.train.trainer import CATEGORIES

    tp = ctx.params
    model = trainer.unwrapped_transformer()
    pipe = trainer.base.pipe
    was_training = model.training
    model.eval()
    pipe.transformer = model
    pipe.set_progress_bar_config(disable=True)
    size = trainer.accelerator.unwrap_model(trainer.size) if trainer.size is not None else None
    tryon = TryOnPipeline(pipe, config, size)
    dtype = next(model.parameters()).dtype
    for i, category in enumerate(CATEGORIES):  # cached embeddings: the text encoders may be off the GPU
        tryon.use_prompt_embeddings(category, trainer.text["prompt_embeds"][i:i + 1].to(model.device, dtype),
                                    trainer.text["pooled"][i:i + 1].to(model.device, dtype))
    sheet = validation_grid(tryon, ctx.val_samples, tp.tracking.validation_per_category,
                            tp.tracking.validation_steps, seed=0)
    if sheet is not None:
        ctx.log_image(sheet, f"train/validation_step{step:06d}.png")
    model.train(was_training)


def load_predictor(model_dir: Path, device: str = "cpu"):
    """TryOnPipeline.from_pretrained: the CatVTON-Flux predictor."""
    from components.train.inference import TryOnPipeline

    return TryOnPipeline.from_pretrained(model_dir, device=device)


FAMILY = Family(name=NAME, params_model=None, train=train, load_predictor=load_predictor, preflight=preflight,
                description="CatVTON-Flux in-context try-on (FLUX.1 Fill transformer + LoRA / attention fine-tuning)")
