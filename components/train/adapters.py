"""What a run trains: a LoRA (peft) or the attention layers of the transformer, plus optional size conditioning
(the pooled-embedding offset here, the size map's x_embedder columns in components/train/size_map.py).

Saved in formats other tools load: the LoRA as `pytorch_lora_weights.safetensors` with peft's key convention
under diffusers' `transformer.` prefix (`transformer.<module>.lora_A.weight` / `.lora_B.weight`, the LoRA
config in the file's metadata), the layout diffusers' own FLUX LoRA trainers write, which both
`FluxFillPipeline.load_lora_weights(dir)` and peft's `set_peft_model_state_dict` read; attention weights as a
safetensors state dict.
"""

from __future__ import annotations

from pathlib import Path

import torch
from torch import nn

from components.train.params import TrainParams

LORA_WEIGHT_NAME = "pytorch_lora_weights.safetensors"
LORA_PREFIX = "transformer."  # diffusers' component prefix in a pipeline LoRA file
ADAPTER_NAME = "default"  # peft's name for the adapter `add_adapter` attaches
ATTENTION_WEIGHT_NAME = "transformer_attention.safetensors"
SIZE_WEIGHT_NAME = "size_conditioning.safetensors"


class SizeConditioner(nn.Module):
    """Garment-to-body size ratios -> an offset added to the pooled text embedding (zero at initialisation).

    Log ratios make "twice as wide" and "half as wide" symmetric; the zero-initialised projection means
    switching it on starts from exactly the base model's behaviour.
    """

    def __init__(self, n_ratios: int, dim: int) -> None:
        super().__init__()
        self.proj = nn.Linear(n_ratios, dim)
        nn.init.zeros_(self.proj.weight)
        nn.init.zeros_(self.proj.bias)

    def forward(self, pooled: torch.Tensor, ratios: torch.Tensor) -> torch.Tensor:
        """`pooled` shifted by the projected log ratios (an unknown ratio, NaN, contributes nothing)."""
        from components.train.families.size import log_ratios

        return pooled + self.proj(log_ratios(ratios.float()).to(self.proj.weight.dtype)).to(pooled.dtype)


def apply_adapters(transformer: nn.Module, params: TrainParams) -> list[nn.Parameter]:
    """Freeze the transformer, then open up what `params.mode` trains; returns the trainable parameters."""
    transformer.requires_grad_(False)
    if params.mode == "lora":
        from peft import LoraConfig

        config = LoraConfig(
            r=params.lora_rank,
            lora_alpha=params.lora_alpha,
            lora_dropout=params.lora_dropout,
            init_lora_weights="gaussian",
            target_modules=list(params.lora_target_modules),
        )
        transformer.add_adapter(config)
    else:
        for name, p in transformer.named_parameters():
            if any(key in name for key in params.attention_trainable):
                p.requires_grad_(True)
    trainable = [p for p in transformer.parameters() if p.requires_grad]
    if not trainable:
        raise ValueError(f"train.mode={params.mode!r} selected no parameters: check the target module names")
    return trainable


def trainable_state(transformer: nn.Module, params: TrainParams) -> dict[str, torch.Tensor]:
    """The trained weights only: the LoRA in peft's keys (`<module>.lora_A.weight`), or the attention parameters.

    peft's keys as they are: diffusers' `convert_state_dict_to_diffusers` renames only some of them (to
    `lora.down`/`lora.up`), which left one file with two conventions.
    """
    if params.mode == "lora":
        from peft.utils import get_peft_model_state_dict

        return get_peft_model_state_dict(transformer, adapter_name=ADAPTER_NAME)
    from components.train.size_map import SIZE_MAP_PARAMETER  # saved in its own file, with the size conditioner

    return {n: p.detach().clone() for n, p in transformer.named_parameters()
            if p.requires_grad and n != SIZE_MAP_PARAMETER}


def save_trained(
    out_dir: Path, transformer: nn.Module, params: TrainParams, size: SizeConditioner | None = None
) -> list[str]:
    """Write the trained weights (and the size conditioner, and the size map's x_embedder columns when the
    transformer reads one) under `out_dir`; returns the files written."""
    from safetensors.torch import save_file

    out_dir.mkdir(parents=True, exist_ok=True)
    state = {k: v.detach().float().cpu().contiguous() for k, v in trainable_state(transformer, params).items()}
    written = []
    if params.mode == "lora":
        from diffusers import FluxFillPipeline

        metadata = transformer.peft_config[ADAPTER_NAME].to_dict()  # rank, alpha, targets: what loaders need
        FluxFillPipeline.save_lora_weights(out_dir, transformer_lora_layers=state, weight_name=LORA_WEIGHT_NAME,
                                           transformer_lora_adapter_metadata=metadata)
        written.append(LORA_WEIGHT_NAME)
    else:
        save_file(state, str(out_dir / ATTENTION_WEIGHT_NAME))
        written.append(ATTENTION_WEIGHT_NAME)
    if size is not None:
        save_file({k: v.detach().float().cpu().contiguous() for k, v in size.state_dict().items()},
                  str(out_dir / SIZE_WEIGHT_NAME))
        written.append(SIZE_WEIGHT_NAME)
    from components.train.size_map import SIZE_MAP_WEIGHT_NAME, SizeMapEmbedder, size_map_state

    if isinstance(getattr(transformer, "x_embedder", None), SizeMapEmbedder):
        save_file(size_map_state(transformer), str(out_dir / SIZE_MAP_WEIGHT_NAME))
        written.append(SIZE_MAP_WEIGHT_NAME)
    return written


def load_attention_weights(transformer: nn.Module, path: Path) -> None:
    """Load attention-only fine-tuned weights over a base transformer (every key must exist)."""
    from safetensors.torch import load_file

    state = load_file(str(path))
    own = dict(transformer.named_parameters())
    unknown = sorted(set(state) - set(own))
    if unknown:
        raise ValueError(f"{path}: {len(unknown)} weights do not match the base transformer, e.g. {unknown[:3]}")
    with torch.no_grad():
        for name, tensor in state.items():
            own[name].copy_(tensor.to(own[name].dtype))
