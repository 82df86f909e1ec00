"""The `train` stage (`run`): preflight, data, the chosen model family's training, reports, tracking, registration."""

from __future__ import annotations

import hashlib
import json
import math
import os
import re
import shutil
import sys
from dataclasses import dataclass
from pathlib import Path

from components.params import Params
from components.manifest.schema import MANIFEST_FILENAME
from components.project import resolve
from components.train.params import TrainParams
from components.tracking.contract import Metric, Param, Tag, metric_key, param_key

# Settings that do not change what a checkpoint contains: a run may resume across changes to them.
_NOT_IN_RUN_KEY = {"max_steps", "checkpoint_every", "checkpoints_to_keep", "tracking", "num_workers", "pin_memory",
                   "compile", "inference_steps", "gate", "num_threads", "device"}


@dataclass
class TrainResult:
    """Where the stage wrote its results, and the model version it registered (None when it did not)."""

    model_dir: Path
    reports_dir: Path
    checkpoint_dir: Path
    registered: dict | None

    def summary(self) -> str:
        """Where the model and the reports are, and what was registered."""
        lines = [f"model: {self.model_dir}", f"reports: {self.reports_dir}"]
        if self.registered:
            lines.append(f"registered: {self.registered['model_uri']}")
        return "\n".join(lines)


def dataset_version(dataset_dir: Path) -> str:
    """The sha256 (16 hex) of the dataset's manifest: changes whenever any sample or annotation changes."""
    return hashlib.sha256((dataset_dir / MANIFEST_FILENAME).read_bytes()).hexdigest()[:16]


# Run keys from before the seed joined them: `<profile>-<12 hex>` (now `<profile>-seed<n>-<12 hex>`).
_SEEDLESS_KEY_RE = re.compile(r"^[A-Za-z0-9_]+-[0-9a-f]{12}$")


def run_key(train: TrainParams, profile: str, data_version: str, seed: int) -> str:
    """The checkpoint folder's name: what the run trains, on which data, from which seed (so --resume never
    mixes runs); `<profile>-seed<seed>-<12 hex>`."""
    exclude: dict = {k: True for k in _NOT_IN_RUN_KEY | _family_sections(train)}
    if train.model == "gmm_tom":  # its phase lengths play max_steps' part: more steps resume the same run
        exclude["gmm_tom"] = {"steps": True}
    settings = train.model_dump(exclude=exclude, mode="json")
    blob = json.dumps({"profile": profile, "data": data_version, "seed": seed, "train": settings}, sort_keys=True)
    return f"{profile}-seed{seed}-{hashlib.sha256(blob.encode()).hexdigest()[:12]}"


def start_afresh(checkpoint_dir: Path) -> int:
    """Empty this run key's checkpoint folder for a run that does not resume; returns how many checkpoints went.

    A fresh run's checkpoints are pruned by step, so an earlier run's higher steps would outlive them and a
    later --resume would continue from the earlier run's weights. Only one process per machine clears it
    (LOCAL_RANK 0 under accelerate launch), before any process can reach a checkpoint."""
    if os.environ.get("LOCAL_RANK", "0") != "0" or not checkpoint_dir.is_dir():
        return 0
    from components.train.families.checkpoint import CHECKPOINT_RE

    gone = sum(1 for p in checkpoint_dir.iterdir() if CHECKPOINT_RE.match(p.name))
    shutil.rmtree(checkpoint_dir)
    return gone


def seedless_runs(checkpoints_root: Path) -> list[Path]:
    """Checkpoint folders named by run keys from before the key held project.seed (never resumed: seed unknown)."""
    if not checkpoints_root.is_dir():
        return []
    return sorted(p for p in checkpoints_root.iterdir() if p.is_dir() and _SEEDLESS_KEY_RE.match(p.name))


def _flat(prefix: str, value, out: dict) -> dict:
    if isinstance(value, dict):
        for k, v in value.items():
            _flat(f"{prefix}.{k}" if prefix else str(k), v, out)
    else:
        out[prefix] = value if not isinstance(value, (list, tuple)) else json.dumps(value)[:490]
    return out


def _family_sections(train: TrainParams) -> set[str]:
    """The `train.<family>` sections of the families that are not training (they do not change this run)."""
    from components.train.families import FAMILIES

    return {name for name in FAMILIES if name != train.model and name in TrainParams.model_fields}


def run(params: Params, root: Path, resume: bool = False, register: bool = True) -> TrainResult:
    """Run the whole stage for `params` (profile already applied); returns where everything went."""
    import mlflow

    from components.tracking.mlflow_run import lineage_tags, log_image_artifact, stage_run
    from components.train.data import require_samples, select_samples
    from components.train.families import get_family
    from components.train.families.base import FamilyContext, size_map_input_for
    from components.train.package import log_and_register
    from components.train.report import loss_curve_png, write_loss_rows
    from components.train.trainer import dump_json

    tp = params.train
    family = get_family(tp.model)
    family.preflight(tp)  # before any data or model work: missing weights fail in a second
    dataset_dir = resolve(params.paths.augmented, root)
    cols = tp.size_conditioning.columns if tp.size_conditioning.enabled else []
    # CatVTON-Flux's latent cache stores a number for every ratio; the baselines keep NaN (unknown: asks nothing).
    missing = tp.size_conditioning.default_value if tp.model == "catvton_flux" else math.nan
    selection = select_samples(dataset_dir, "train", cols, missing)
    samples = require_samples(selection, dataset_dir)
    val = select_samples(dataset_dir, "test", cols, missing).samples or samples
    data_version = dataset_version(dataset_dir)
    key = run_key(tp, params.profile, data_version, params.project.seed)
    models_dir = resolve(params.paths.models, root)
    model_dir = models_dir / "candidate"
    checkpoint_dir = models_dir / "checkpoints" / key
    if resume:
        for old in seedless_runs(checkpoint_dir.parent):
            print(f"train: {old} was written before run keys held project.seed; --resume does not continue "
                  "from it (its seed is unknown): delete it once it is not needed", file=sys.stderr)
    elif gone := start_afresh(checkpoint_dir):
        print(f"train: a fresh run (no --resume): removed {gone} checkpoint(s) of an earlier run from "
              f"{checkpoint_dir}", file=sys.stderr)
    reports_dir = resolve(params.paths.reports, root) / "train"
    cache_dir = resolve(tp.cache_dir, root)
    tp = tp.model_copy(update={"cache_dir": str(cache_dir)})

    with stage_run("train", params.project.mlflow_experiment, root):
        skip = {"prompts"} | _family_sections(tp)
        mlflow.log_params(_flat(Param.TRAIN, tp.model_dump(mode="json", exclude=skip), {}))
        mlflow.log_params({param_key(Param.TRAIN, name): value for name, value in (
            ("profile", params.profile), ("dataset_version", data_version), ("samples", len(samples)),
            ("skipped_no_mask", selection.skipped_no_mask), ("skipped_unpaired", selection.skipped_unpaired),
            ("run_key", key))})
        mlflow.set_tags({**lineage_tags(params.profile, root), Tag.TRAIN_DATASET_VERSION: data_version,
                         Tag.TRAIN_RUN_KEY: key, Tag.MODEL_FAMILY: tp.model,
                         Tag.MODEL_SIZE_CONDITIONING: "on" if tp.size_conditioning.enabled else "off",
                         Tag.MODEL_SIZE_MAP: size_map_input_for(tp.model, tp.size_conditioning.enabled)})
        ctx = FamilyContext(
            params=tp, samples=samples, val_samples=val, checkpoint_dir=checkpoint_dir, model_dir=model_dir,
            reports_dir=reports_dir, seed=params.project.seed, resume=resume, profile=params.profile,
            annotate=params.annotate, fit=params.fit, cache_dir=cache_dir,
            log_metrics=lambda m, step: mlflow.log_metrics(m, step=step), log_image=log_image_artifact,
            log_params=mlflow.log_params, set_tags=mlflow.set_tags,
        )
        result = family.train(ctx)
        print(result.summary, file=sys.stderr)

        registered = None
        if result.is_main_process:
            metrics = {**result.metrics, "family": tp.model, "dataset_version": data_version,
                       "resumed_from": result.resumed_from or ""}
            dump_json(reports_dir / "metrics.json", metrics)
            write_loss_rows(result.losses, reports_dir / "loss.csv")
            curve = loss_curve_png([v for _, v in result.losses], reports_dir / "loss_curve.png",
                                   ylabel=result.loss_label, steps=[s for s, _ in result.losses])
            mlflow.log_artifact(str(curve), "train")
            mlflow.log_artifact(str(model_dir / "model.json"), "train")
            mlflow.log_metrics({metric_key(Metric.TRAIN, k): float(v) for k, v in result.metrics.items()
                                if isinstance(v, (int, float)) and not isinstance(v, bool)})
            if register:
                registered = log_and_register(model_dir, params.project.registered_model, root, family=tp.model)
                print(f"train: registered {registered['model_uri']} ({tp.model})", file=sys.stderr)
        result.finish()
    return TrainResult(model_dir, reports_dir, checkpoint_dir, registered)
