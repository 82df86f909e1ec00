"""The base FLUX.1 Fill model a run starts from: tiny random (smoke) or real weights from the model store.

`preflight` runs before any data or model work so a `test`/`full` run without weights fails in a second,
naming every missing file and how to get it.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from components.errors import MissingWeightsError
from components.train.params import TrainParams

# FLUX.1 Fill dev as diffusers lays it out on the hub; each file is one model-store catalog entry named
# `flux1-fill-dev.<path with dots>` (components/models/catalog.yaml).
FLUX_FILL_FILES: tuple[str, ...] = (
    "model_index.json",
    "scheduler/scheduler_config.json",
    "text_encoder/config.json",
    "text_encoder/model.safetensors",
    "text_encoder_2/config.json",
    "text_encoder_2/model.safetensors.index.json",
    "text_encoder_2/model-00001-of-00002.safetensors",
    "text_encoder_2/model-00002-of-00002.safetensors",
    "tokenizer/merges.txt",
    "tokenizer/special_tokens_map.json",
    "tokenizer/tokenizer_config.json",
    "tokenizer/vocab.json",
    "tokenizer_2/special_tokens_map.json",
    "tokenizer_2/spiece.model",
    "tokenizer_2/tokenizer.json",
    "tokenizer_2/tokenizer_config.json",
    "transformer/config.json",
    "transformer/diffusion_pytorch_model.safetensors.index.json",
    "transformer/diffusion_pytorch_model-00001-of-00003.safetensors",
    "transformer/diffusion_pytorch_model-00002-of-00003.safetensors",
    "transformer/diffusion_pytorch_model-00003-of-00003.safetensors",
    "vae/config.json",
    "vae/diffusion_pytorch_model.safetensors",
)
# CatVTON-Flux's fine-tuned fill transformer (replaces FLUX.1 Fill dev's; VAE and text encoders stay).
CATVTON_TRANSFORMER_FILES: tuple[str, ...] = (
    "config.json",
    "diffusion_pytorch_model.safetensors.index.json",
    "diffusion_pytorch_model-00001-of-00003.safetensors",
    "diffusion_pytorch_model-00002-of-00003.safetensors",
    "diffusion_pytorch_model-00003-of-00003.safetensors",
)
STORE_MODELS: dict[str, dict[str, tuple[str, tuple[str, ...]]]] = {
    "flux-fill-dev": {"pipeline": ("flux1-fill-dev", FLUX_FILL_FILES)},
    "catvton-flux": {
        "pipeline": ("flux1-fill-dev", FLUX_FILL_FILES),
        "transformer": ("catvton-flux-beta", CATVTON_TRANSFORMER_FILES),
    },
}


def store_entry_name(prefix: str, relpath: str) -> str:
    """The catalog name of one file of a multi-file model: `<prefix>.<path with / as .>`."""
    return f"{prefix}." + relpath.replace("/", ".")


@dataclass
class BaseModel:
    """A loaded base pipeline plus what identifies it (for cache keys and model.json)."""

    pipe: Any  # diffusers FluxFillPipeline
    fingerprint: str
    spec: dict[str, Any] = field(default_factory=dict)

    @property
    def vae_scale_factor(self) -> int:
        """Pixels per latent cell (8 for FLUX.1, 2 for the tiny model)."""
        return 2 ** (len(self.pipe.vae.config.block_out_channels) - 1)

    @property
    def max_sequence_length(self) -> int:
        """T5 tokens per prompt."""
        return int(self.spec.get("max_sequence_length", 512))


def _state_fingerprint(*modules) -> str:
    h = hashlib.sha256()
    for m in modules:
        for name, t in sorted(m.state_dict().items()):
            h.update(name.encode())
            h.update(t.detach().cpu().contiguous().numpy().tobytes())
    return h.hexdigest()[:16]


def store_api():
    """The model store module (components.models.store), or None while it is not installed in this tree."""
    try:
        from components.models import store  # noqa: PLC0415 - optional until the model store lands
    except ImportError:
        return None
    return store


def preflight(params: TrainParams, assemble_dir: Path | None = None) -> dict[str, Path]:
    """Folders (diffusers layout) of every store model `params.base_model` needs.

    Checks every file before loading anything, and raises one MissingWeightsError naming all missing files.
    """
    if params.base_model == "tiny":
        return {}
    store = store_api()
    needed = STORE_MODELS[params.base_model]
    pulls = " && ".join(f"`vton models pull {store_entry_name(p, f)}`" for p, files in needed.values() for f in files[:1])
    if store is None:
        raise MissingWeightsError(
            f"train.base_model={params.base_model!r} needs {[p for p, _ in needed.values()]} from the model store, "
            "but components.models.store is not available in this checkout",
            hint="use --profile smoke (tiny random model), or install the model store and pull the weights",
        )
    found: dict[str, dict[str, Path]] = {}
    problems: list[str] = []
    for role, (prefix, files) in needed.items():
        for rel in files:
            name = store_entry_name(prefix, rel)
            try:
                found.setdefault(role, {})[rel] = Path(store.ensure_weights(name))
            except MissingWeightsError as exc:
                problems.append(f"  - {exc.message}")
    if problems:
        raise MissingWeightsError(
            f"train.base_model={params.base_model!r}: {len(problems)} weight files missing from the model store:\n"
            + "\n".join(problems),
            hint=f"pull every file of the model (`vton models pull <name>` for each name above, e.g. {pulls}), "
            "or set VTON_MODELS_AUTO_PULL=1 on a machine with hub access; `--profile smoke` needs no weights",
        )
    root = assemble_dir or Path(store.cache_root()) / "assembled"
    out = {}
    for role, (prefix, _) in needed.items():
        target = root / prefix
        for rel, src in found[role].items():
            link = target / rel
            link.parent.mkdir(parents=True, exist_ok=True)
            if link.is_symlink() or link.exists():
                if link.resolve() == src.resolve():
                    continue
                link.unlink()
            link.symlink_to(src.resolve())
        out[role] = target
    return out


def load_base(params: TrainParams, device: str = "cpu", dtype=None) -> BaseModel:
    """Build or load the base FluxFillPipeline for `params` (preflight first for store models)."""
    import torch

    if params.base_model == "tiny":
        from components.train.tiny import build_tiny_fill_pipeline

        pipe = build_tiny_fill_pipeline(params.tiny)
        spec = {"kind": "tiny", "tiny": params.tiny.model_dump(), "max_sequence_length": params.tiny.max_sequence_length}
    else:
        from diffusers import FluxFillPipeline, FluxTransformer2DModel

        paths = preflight(params)
        dtype = dtype or (torch.bfloat16 if params.mixed_precision == "bf16" else torch.float32)
        kwargs = {}
        if "transformer" in paths:
            kwargs["transformer"] = FluxTransformer2DModel.from_pretrained(paths["transformer"], torch_dtype=dtype)
        pipe = FluxFillPipeline.from_pretrained(paths["pipeline"], torch_dtype=dtype, **kwargs)
        spec = {
            "kind": "store",
            "base_model": params.base_model,
            "store": {role: prefix for role, (prefix, _) in STORE_MODELS[params.base_model].items()},
            "max_sequence_length": 512,
        }
    pipe.to(device, dtype) if dtype is not None else pipe.to(device)
    if spec["kind"] == "tiny":
        fp = _state_fingerprint(pipe.vae, pipe.text_encoder, pipe.text_encoder_2, pipe.transformer)
    else:
        fp = hashlib.sha256(json.dumps(spec, sort_keys=True).encode()).hexdigest()[:16]
    spec["fingerprint"] = fp
    return BaseModel(pipe=pipe, fingerprint=fp, spec=spec)


def load_base_from_spec(spec: dict[str, Any], model_dir: Path, device: str = "cpu", dtype=None) -> BaseModel:
    """The base pipeline model.json describes: `base/` inside the model dir (tiny) or the model store."""
    import torch
    from diffusers import FluxFillPipeline, FluxTransformer2DModel

    if spec["kind"] == "tiny":
        pipe = FluxFillPipeline.from_pretrained(model_dir / "base")
    else:
        params = TrainParams(base_model=spec["base_model"])
        paths = preflight(params)
        dtype = dtype or (torch.bfloat16 if device.startswith("cuda") else torch.float32)
        kwargs = {}
        if "transformer" in paths:
            kwargs["transformer"] = FluxTransformer2DModel.from_pretrained(paths["transformer"], torch_dtype=dtype)
        pipe = FluxFillPipeline.from_pretrained(paths["pipeline"], torch_dtype=dtype, **kwargs)
    pipe.to(device)
    return BaseModel(pipe=pipe, fingerprint=spec.get("fingerprint", ""), spec=spec)
