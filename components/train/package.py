"""The trained candidate on disk (models/candidate) and in MLflow (a models-from-code pyfunc, registered).

models/candidate/
  model.json        base model spec, recipe, adapter mode, canvas buckets, prompts, guidance, profile
  adapter/          pytorch_lora_weights.safetensors (peft keys, diffusers prefix) or transformer_attention.safetensors;
                    size-aware: size_conditioning.safetensors (pooled offset), size_map_embedder.safetensors (the
                    size map's x_embedder columns)
  base/             the tiny random base pipeline (smoke only; real bases come from the model store)
  registered.json   the registered model version (written after `mlflow.pyfunc.log_model`)
"""

from __future__ import annotations

import json
import shutil
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from components.train.adapters import save_trained
from components.train.families.base import SIZE_MAP_KEY, size_map_input_for
from components.train.inference import MODEL_CONFIG
from components.train.params import TrainParams

FORMAT_VERSION = 1
PYFUNC_CODE = "mlflow/tryon_model.py"
# What a serving environment needs to run the pyfunc (pinned like pyproject.toml).
PYFUNC_REQUIREMENTS = [
    "torch==2.14.1", "diffusers==0.42.1", "transformers==5.23.0", "peft==0.21.2", "accelerate==1.15.0",
    "safetensors==0.8.0", "pillow==13.0.0", "pandas==3.0.6", "numpy==1.26.4", "pydantic==2.14.3",
    "pyyaml==6.0.3", "tqdm==4.70.1", "pyarrow==25.0.1", "mlflow==3.17.2",
    # The baselines annotate bare photos on the fly (pose, person mask, parse), as `vton annotate` does.
    "mediapipe==0.10.21", "protobuf==4.25.9", "opencv-python-headless==4.11.0.86",
]


def model_config(params: TrainParams, base_spec: dict[str, Any], profile: str, steps: int = 0) -> dict[str, Any]:
    """model.json's content: everything inference needs besides the weights."""
    return {
        "format_version": FORMAT_VERSION,
        "family": "catvton_flux",
        "kind": "catvton-flux",
        "profile": profile,
        "base": base_spec,
        "mode": params.mode,
        "lora": {"rank": params.lora_rank, "alpha": params.lora_alpha, "target_modules": params.lora_target_modules}
        if params.mode == "lora" else None,
        "buckets": [list(b) for b in params.buckets],
        "prompts": params.category_prompts(),
        "mask_threshold": params.mask_threshold,
        "guidance_scale": params.guidance_scale,  # inference; training used train_guidance_scale
        "recipe": params.recipe,
        "train_guidance_scale": params.train_guidance_scale,
        "inference_steps": params.inference_steps,
        "size_conditioning": {**params.size_conditioning.model_dump(),
                              SIZE_MAP_KEY: size_map_input_for("catvton_flux", params.size_conditioning.enabled)},
        "trained_steps": steps,
        "created_at": datetime.now(timezone.utc).isoformat(timespec="seconds"),
    }


def write_candidate(
    out_dir: Path, transformer, params: TrainParams, config: dict[str, Any], size=None, base_dir: Path | None = None
) -> Path:
    """Write the candidate model directory from scratch: adapter weights, model.json and (tiny) the base copy."""
    tmp = out_dir.with_name(out_dir.name + ".tmp")
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir(parents=True)
    config = dict(config)
    config["adapter_files"] = save_trained(tmp / "adapter", transformer, params, size)
    if config["base"]["kind"] == "tiny":
        if base_dir is None:
            raise ValueError("a tiny base must be saved (save_base_snapshot) before it can be packaged")
        shutil.copytree(base_dir, tmp / "base")
    (tmp / MODEL_CONFIG).write_text(json.dumps(config, indent=2) + "\n")
    shutil.rmtree(out_dir, ignore_errors=True)
    tmp.replace(out_dir)
    return out_dir


def save_base_snapshot(pipe, cache_dir: Path, fingerprint: str) -> Path:
    """Save a tiny base pipeline (before any adapter touches it) once per fingerprint; returns its folder."""
    target = cache_dir / "base" / fingerprint
    if not (target / "model_index.json").is_file():
        tmp = target.with_name(target.name + ".tmp")
        shutil.rmtree(tmp, ignore_errors=True)
        pipe.save_pretrained(tmp)
        shutil.rmtree(target, ignore_errors=True)
        tmp.replace(target)
    return target


def log_and_register(model_dir: Path, registered_model: str, root: Path, input_example=None,
                     family: str | None = None) -> dict[str, Any]:
    """Log the candidate as a models-from-code pyfunc in the active run and register a version of it,
    tagged with its model family (model.json's "family")."""
    import mlflow

    from components.train.families import family_of, read_model_config
    from components.train.families.base import MODEL_FAMILY_TAG, SIZE_MAP_TAG, SIZE_TAG, is_size_aware, size_map_input
    from mlflow.models import ModelSignature
    from mlflow.types import ColSpec, ParamSchema, ParamSpec, Schema

    signature = ModelSignature(
        inputs=Schema([
            ColSpec("string", "person"), ColSpec("string", "garment"), ColSpec("string", "category"),
            ColSpec("string", "mask", required=False),
            # Size-aware try-on: a fit label, or the three worn ratios (components/fit); size-blind models say
            # they ignore them.
            ColSpec("string", "fit", required=False),
            ColSpec("double", "width_ratio", required=False), ColSpec("double", "length_ratio", required=False),
            ColSpec("double", "span_ratio", required=False),
        ]),
        outputs=Schema([ColSpec("string", "image")]),
        # Per-request settings for every row (a row's own column wins): sampling, and the size request.
        params=ParamSchema([
            ParamSpec("num_inference_steps", "long", None), ParamSpec("seed", "long", 0),
            ParamSpec("fit", "string", None), ParamSpec("width_ratio", "double", None),
            ParamSpec("length_ratio", "double", None), ParamSpec("span_ratio", "double", None),
        ]),
    )
    info = mlflow.pyfunc.log_model(
        name="tryon_model",
        python_model=str(root / PYFUNC_CODE),
        artifacts={"model_dir": str(model_dir)},
        code_paths=[str(root / "components")],
        signature=signature,
        pip_requirements=PYFUNC_REQUIREMENTS,
        registered_model_name=registered_model,
    )
    config = read_model_config(model_dir)
    family = family or family_of(config)
    size = "on" if is_size_aware(config) else "off"
    client = mlflow.MlflowClient()
    client.set_model_version_tag(registered_model, str(info.registered_model_version), MODEL_FAMILY_TAG, family)
    client.set_model_version_tag(registered_model, str(info.registered_model_version), SIZE_TAG, size)
    size_map = size_map_input(config)
    client.set_model_version_tag(registered_model, str(info.registered_model_version), SIZE_MAP_TAG, size_map)
    record = {
        "name": registered_model,
        "family": family,
        "size_conditioning": size,
        "size_map": size_map,
        "version": str(info.registered_model_version),
        "model_uri": f"models:/{registered_model}/{info.registered_model_version}",
        "logged_model_uri": info.model_uri,
        "run_id": mlflow.active_run().info.run_id if mlflow.active_run() else None,
    }
    (model_dir / "registered.json").write_text(json.dumps(record, indent=2) + "\n")
    return record
