"""The `train` stage: preflight, data, (gate,) training with checkpoints, packaging, tracking, registration."""

from __future__ import annotations

import hashlib
import json
import sys
from dataclasses import dataclass
from pathlib import Path

from components.config.params import Params
from components.manifest.schema import MANIFEST_FILENAME
from components.project import resolve
from components.train.params import TrainParams

# Settings that do not change what a checkpoint contains: a run may resume across changes to them.
_NOT_IN_RUN_KEY = {"max_steps", "checkpoint_every", "checkpoints_to_keep", "tracking", "num_workers", "pin_memory",
                   "compile", "inference_steps", "gate", "num_threads", "device"}


@dataclass
class StageOutputs:
    """Where the stage wrote its results."""

    model_dir: Path
    reports_dir: Path
    checkpoint_dir: Path
    registered: dict | None


def dataset_version(dataset_dir: Path) -> str:
    """The sha256 (16 hex) of the dataset's manifest: changes whenever any sample or annotation changes."""
    return hashlib.sha256((dataset_dir / MANIFEST_FILENAME).read_bytes()).hexdigest()[:16]


def run_key(train: TrainParams, profile: str, data_version: str) -> str:
    """The checkpoint folder's name: what the run trains, on which data (so --resume never mixes runs)."""
    settings = train.model_dump(exclude=_NOT_IN_RUN_KEY, mode="json")
    blob = json.dumps({"profile": profile, "data": data_version, "train": settings}, sort_keys=True)
    return f"{profile}-{hashlib.sha256(blob.encode()).hexdigest()[:12]}"


def _flat(prefix: str, value, out: dict) -> dict:
    if isinstance(value, dict):
        for k, v in value.items():
            _flat(f"{prefix}.{k}" if prefix else str(k), v, out)
    else:
        out[prefix] = value if not isinstance(value, (list, tuple)) else json.dumps(value)[:490]
    return out


def train_stage(params: Params, root: Path, resume: bool = False, register: bool = True) -> StageOutputs:
    """Run the whole stage for `params` (profile already applied); returns where everything went."""
    import mlflow

    from components.tracking.mlflow_run import lineage_tags, stage_run
    from components.train.base_model import load_base, preflight
    from components.train.data import require_samples, select_samples
    from components.train.package import log_and_register, model_config, save_base_snapshot, write_candidate
    from components.train.report import loss_curve_png, write_loss_csv
    from components.train.trainer import Trainer, dump_json, latest_checkpoint, run_summary

    tp = params.train
    preflight(tp)  # before any data or model work: missing weights fail in a second
    dataset_dir = resolve(params.paths.augmented, root)
    cols = tp.size_conditioning.columns if tp.size_conditioning.enabled else []
    selection = select_samples(dataset_dir, "train", cols, tp.size_conditioning.default_value)
    samples = require_samples(selection, dataset_dir)
    val = select_samples(dataset_dir, "test").samples or samples
    data_version = dataset_version(dataset_dir)
    key = run_key(tp, params.profile, data_version)
    models_dir = resolve(params.paths.models, root)
    model_dir = models_dir / "candidate"
    checkpoint_dir = models_dir / "checkpoints" / key
    reports_dir = resolve(params.paths.reports, root) / "train"
    cache_dir = resolve(tp.cache_dir, root)
    tp = tp.model_copy(update={"cache_dir": str(cache_dir)})

    with stage_run("train", params.project.mlflow_experiment, root):
        mlflow.log_params(_flat("train", tp.model_dump(mode="json", exclude={"prompts"}), {}))
        mlflow.log_params({"train.profile": params.profile, "train.dataset_version": data_version,
                           "train.samples": len(samples), "train.skipped_no_mask": selection.skipped_no_mask,
                           "train.run_key": key})
        mlflow.set_tags({**lineage_tags(params.profile, root), "vton.train.dataset_version": data_version,
                         "vton.train.run_key": key})

        base = load_base(tp, device="cuda" if _use_cuda(tp) else "cpu")
        base_dir = save_base_snapshot(base.pipe, cache_dir, base.fingerprint) if base.spec["kind"] == "tiny" else None
        trainer = Trainer(tp, samples, checkpoint_dir, seed=params.project.seed, base=base,
                          log_fn=lambda m, step: mlflow.log_metrics(m, step=step))
        resumed = None
        if resume and (ckpt := latest_checkpoint(checkpoint_dir)) is not None:
            trainer.load_checkpoint(ckpt)
            resumed = ckpt.name
            print(f"train: resumed from {ckpt} at step {trainer.position.step}", file=sys.stderr)
        gate = None
        if tp.gate.enabled and trainer.position.step == 0:
            gate = trainer.run_gate()
            mlflow.log_metrics({"train/gate_initial_loss": gate.initial_loss, "train/gate_final_loss": gate.final_loss,
                                "train/gate_factor": gate.factor})

        config = model_config(tp, base.spec, params.profile)

        def on_step(step: int, _loss: float) -> None:
            every = tp.tracking.validate_every
            if every and step % every == 0 and step < tp.max_steps and trainer.accelerator.is_main_process:
                _log_grid(trainer, config, val, tp, step)

        result = trainer.fit(on_step)
        result.resumed_from, result.gate = resumed, gate
        print(run_summary(result), file=sys.stderr)

        registered = None
        if trainer.accelerator.is_main_process:
            config["trained_steps"] = result.steps
            transformer = trainer.unwrapped_transformer()
            size = trainer.accelerator.unwrap_model(trainer.size) if trainer.size is not None else None
            write_candidate(model_dir, transformer, tp, config, size, base_dir)
            _log_grid(trainer, config, val, tp, result.steps)
            metrics = {**result.metrics(), "dataset_version": data_version, "resumed_from": resumed or "",
                       "optimizer": result.optimizer}
            dump_json(reports_dir / "metrics.json", metrics)
            write_loss_csv(result.losses, reports_dir / "loss.csv")
            curve = loss_curve_png(result.losses, reports_dir / "loss_curve.png", tp.loss_region)
            mlflow.log_artifact(str(curve), "train")
            mlflow.log_artifact(str(model_dir / "model.json"), "train")
            mlflow.log_metrics({f"train/{k}": float(v) for k, v in result.metrics().items()
                                if isinstance(v, (int, float))})
            if register:
                registered = log_and_register(model_dir, params.project.registered_model, root)
                print(f"train: registered {registered['model_uri']}", file=sys.stderr)
        trainer.accelerator.wait_for_everyone()
        trainer.accelerator.end_training()
    return StageOutputs(model_dir, reports_dir, checkpoint_dir, registered)


def _use_cuda(tp: TrainParams) -> bool:
    import torch

    return tp.device == "cuda" or (tp.device == "auto" and torch.cuda.is_available())


def _log_grid(trainer, config: dict, samples, tp: TrainParams, step: int) -> None:
    """Generate the validation grid with the current weights and log it to the run."""
    from components.tracking.mlflow_run import log_image_artifact
    from components.train.inference import TryOnPipeline
    from components.train.report import validation_grid
    from components.train.trainer import CATEGORIES

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
    sheet = validation_grid(tryon, samples, tp.tracking.validation_per_category,
                            tp.tracking.validation_steps, seed=0)
    if sheet is not None:
        log_image_artifact(sheet, f"train/validation_step{step:06d}.png")
    model.train(was_training)
