"""Training recipes: named sets of `train.*` defaults, so "train as the reference does" is one setting.

`train.recipe` fills every key its recipe names that params.yaml leaves unset; a key set in params.yaml (or a
profile) always wins. Each recipe carries one line saying why it exists (README's train section shows them).

`catvton_flux` follows the public CatVTON-Flux training (nftblackmagic/catvton-flux, `train_flux_inpaint.py`
and `train_flux_inpaint.sh`): guidance 1 in training (30 only at inference), sigmas drawn uniformly from the
scheduler's training grid, loss over the whole canvas, one prompt, the attention parameters fine-tuned,
AdamW 8-bit at a constant 2e-5, batch 1 x 8 accumulation, 576x768 panels.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass, field
from typing import Any

# One prompt for every category, in the reference's in-context form ([IMAGE1] garment | [IMAGE2] worn).
# Our own wording: set `train.prompt` to match a published checkpoint's prompt exactly when continuing from it.
REFERENCE_PROMPT = (
    "The pair of images shows one garment and how it looks when worn; [IMAGE1] a product photo of the garment "
    "on its own; [IMAGE2] the same garment worn by a person."
)


@dataclass(frozen=True)
class Recipe:
    """A named set of train.* defaults, the one line saying why the recipe exists, and one per choice it makes."""

    name: str
    why: str
    defaults: dict[str, Any] = field(default_factory=dict)
    reasons: dict[str, str] = field(default_factory=dict)  # top-level key of `defaults` -> why this value


CATVTON_FLUX = Recipe(
    name="catvton_flux",
    why="trains as the published CatVTON-Flux did, so its results and checkpoints compare like for like",
    defaults={
        "mode": "attention",                 # full fine-tuning of every attention parameter (`--train_base_model`)
        "attention_trainable": ["attn."],    # the reference opens each block's parameters whose name has "attn"
        "train_guidance_scale": 1.0,         # `--guidance_scale=1`
        "guidance_scale": 30.0,              # its validation (and inference) guidance
        "timesteps": {"sampling": "scheduler", "weighting_scheme": "uniform"},  # weighting_scheme "none"
        "loss_region": "canvas",             # mean over every latent of the (garment | person) canvas
        "prompt": REFERENCE_PROMPT,          # one prompt for every sample
        "buckets": [[576, 768]],             # `--width=576 --height=768` per panel
        "learning_rate": 2e-5,
        "batch_size": 1,
        "gradient_accumulation_steps": 8,
        "optimizer": {"scheduler": "constant", "warmup_steps": 0, "eight_bit": True, "weight_decay": 1e-4,
                      "beta1": 0.9, "beta2": 0.999, "eps": 1e-8, "max_grad_norm": 1.0},
    },
)

VTON_LORA = Recipe(
    name="vton_lora",
    why="an adapter of tens of MB instead of GBs of attention weights: cheap to store, ship and swap over one base",
    defaults={
        "mode": "lora",
        "lora_rank": 16,
        "lora_alpha": 16.0,
        "train_guidance_scale": 30.0,        # FLUX.1 Fill dev's distilled guidance, the same in training and inference
        "guidance_scale": 30.0,
        "timesteps": {"sampling": "flux_shift", "weighting_scheme": "logit_normal"},  # SD3/FLUX-style density
        "loss_region": "person",             # only the repainted half is asked of the model
        "prompt": None,                      # per-category `train.prompts`
        "buckets": [[768, 1024], [1024, 1024], [1024, 768]],
        "learning_rate": 1e-4,
    },
    reasons={
        "mode": "about 26M trainable parameters (r16 on the attention projections) instead of about 2.5B",
        "lora_rank": "r16: a usual FLUX LoRA rank, a few tens of MB per adapter",
        "lora_alpha": "alpha = rank: the LoRA update is applied at scale 1",
        "train_guidance_scale": "the value FLUX.1 Fill dev runs at, so training sees the conditioning inference uses",
        "guidance_scale": "FLUX.1 Fill dev's recommended guidance for inpainting",
        "timesteps": "SD3/FLUX's logit-normal density with the resolution shift FLUX applies at inference",
        "loss_region": "the garment half is given in the conditioning; the loss goes to the half that is painted",
        "prompt": "per-category prompts name the garment type the multi-category data adds",
        "buckets": "768x1024 is what annotate writes in test and full; square and landscape buckets spare other photos",
        "learning_rate": "LoRA's up-projections start at zero and take larger steps than a full fine-tune",
    },
)

RECIPES: dict[str, Recipe] = {r.name: r for r in (CATVTON_FLUX, VTON_LORA)}
DEFAULT_RECIPE = CATVTON_FLUX.name


def fill_defaults(raw: dict[str, Any], defaults: dict[str, Any]) -> dict[str, Any]:
    """`raw` with every key of `defaults` it lacks added (nested dicts merged key by key); `raw` is not changed."""
    out = dict(raw)
    for key, value in defaults.items():
        if key not in out:
            out[key] = copy.deepcopy(value)
        elif isinstance(value, dict) and isinstance(out[key], dict):
            out[key] = fill_defaults(out[key], value)
    return out


def apply_recipe(raw: dict[str, Any]) -> dict[str, Any]:
    """A raw train section with its recipe's defaults filled in (unknown recipe names are left to validation)."""
    recipe = RECIPES.get(raw.get("recipe", DEFAULT_RECIPE))
    if recipe is None:
        return raw
    defaults = recipe.defaults
    if "prompts" in raw and "prompt" not in raw:
        # Per-category prompts written in params.yaml are meant to be used, not hidden behind the recipe's one.
        defaults = {k: v for k, v in defaults.items() if k != "prompt"}
    return fill_defaults(raw, defaults)
