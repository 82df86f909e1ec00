"""What a run trains and how it is saved: the reference's attention parameters; one LoRA key convention."""

from __future__ import annotations

import json
import re

import torch

from components.train.adapters import LORA_PREFIX, LORA_WEIGHT_NAME, apply_adapters, save_trained
from components.train.params import TinyModelParams, TrainParams
from components.train.tiny import build_tiny_fill_pipeline

TINY = TinyModelParams(num_layers=2, num_single_layers=2)


def _reference_trainable(names: list[str]) -> set[str]:
    """The reference's rule restated: in a (single) transformer block, and "attn" in the parameter's name."""
    return {n for n in names if re.match(r"^(single_)?transformer_blocks\.\d+\.", n) and "attn" in n}


def test_catvton_flux_trains_exactly_the_attention_parameters_of_every_block():
    transformer = build_tiny_fill_pipeline(TINY).transformer
    trainable = apply_adapters(transformer, TrainParams(recipe="catvton_flux", tiny=TINY))
    names = [n for n, _ in transformer.named_parameters()]
    opened = {n for n, p in transformer.named_parameters() if p.requires_grad}
    assert opened == _reference_trainable(names)
    assert len(trainable) == len(opened)
    for expected in ("transformer_blocks.1.attn.to_q.weight", "transformer_blocks.0.attn.add_k_proj.weight",
                     "transformer_blocks.0.attn.to_add_out.weight", "transformer_blocks.0.attn.norm_added_q.weight",
                     "single_transformer_blocks.1.attn.to_v.weight", "single_transformer_blocks.0.attn.norm_k.weight"):
        assert expected in opened
    for frozen in ("transformer_blocks.0.ff.net.0.proj.weight", "transformer_blocks.0.norm1.linear.weight",
                   "single_transformer_blocks.0.proj_out.weight", "x_embedder.weight", "proj_out.weight"):
        assert frozen in names and frozen not in opened


def _trained_lora(tmp_path):
    """A tiny transformer with a LoRA whose weights are all non-zero (as after training), saved to tmp/lora."""
    params = TrainParams(recipe="vton_lora", lora_rank=4, lora_alpha=8.0, tiny=TINY)
    transformer = build_tiny_fill_pipeline(TINY).transformer
    torch.manual_seed(1)
    for p in apply_adapters(transformer, params):
        p.data.normal_(0, 0.2)
    save_trained(tmp_path / "lora", transformer, params)
    return params, transformer, tmp_path / "lora" / LORA_WEIGHT_NAME


def _lora_weights(transformer, adapter: str) -> dict[str, torch.Tensor]:
    from peft.utils import get_peft_model_state_dict

    return get_peft_model_state_dict(transformer, adapter_name=adapter)


def _forward(transformer) -> torch.Tensor:
    g = torch.Generator().manual_seed(0)
    tokens, cfg = 16, transformer.config
    with torch.no_grad():
        return transformer(
            hidden_states=torch.randn(1, tokens, cfg.in_channels, generator=g),
            encoder_hidden_states=torch.randn(1, 8, cfg.joint_attention_dim, generator=g),
            pooled_projections=torch.randn(1, cfg.pooled_projection_dim, generator=g),
            timestep=torch.tensor([0.5]), guidance=torch.tensor([30.0]),
            img_ids=torch.zeros(tokens, 3), txt_ids=torch.zeros(8, 3), return_dict=False,
        )[0]


def test_lora_file_holds_one_key_convention_with_its_config_in_the_metadata(tmp_path):
    from safetensors import safe_open

    _, _, path = _trained_lora(tmp_path)
    with safe_open(str(path), "pt") as f:
        keys, metadata = list(f.keys()), f.metadata()
    assert keys and all(re.fullmatch(rf"{re.escape(LORA_PREFIX)}.+\.lora_[AB]\.weight", k) for k in keys), keys
    assert not any("lora.down" in k or "lora.up" in k for k in keys)
    config = json.loads(metadata["lora_adapter_metadata"])
    assert (config["transformer.r"], config["transformer.lora_alpha"]) == (4, 8.0)


def test_lora_file_loads_into_flux_fill_pipeline_with_every_weight_in_place(tmp_path):
    _, trained, path = _trained_lora(tmp_path)
    pipe = build_tiny_fill_pipeline(TINY)
    pipe.load_lora_weights(str(path.parent), weight_name=LORA_WEIGHT_NAME, adapter_name="tryon")
    loaded, saved = _lora_weights(pipe.transformer, "tryon"), _lora_weights(trained, "default")
    assert loaded.keys() == saved.keys()
    for k in saved:
        torch.testing.assert_close(loaded[k], saved[k])
    torch.testing.assert_close(_forward(pipe.transformer), _forward(trained))  # alpha / rank scaling kept too


def test_lora_file_loads_with_peft_alone_and_gives_the_same_model(tmp_path):
    from peft import LoraConfig, inject_adapter_in_model, set_peft_model_state_dict
    from safetensors import safe_open
    from safetensors.torch import load_file

    _, trained, path = _trained_lora(tmp_path)
    with safe_open(str(path), "pt") as f:
        meta = json.loads(f.metadata()["lora_adapter_metadata"])
    config = LoraConfig(**{k.removeprefix(LORA_PREFIX): v for k, v in meta.items()
                           if k.removeprefix(LORA_PREFIX) in ("r", "lora_alpha", "target_modules", "lora_dropout")})
    state = {k.removeprefix(LORA_PREFIX): v for k, v in load_file(str(path)).items()}
    fresh = build_tiny_fill_pipeline(TINY).transformer
    inject_adapter_in_model(config, fresh)
    result = set_peft_model_state_dict(fresh, state)
    assert not result.unexpected_keys
    assert not [k for k in result.missing_keys if "lora_" in k]
    torch.testing.assert_close(_forward(fresh), _forward(trained))
