"""params.yaml section for the train step: model source, data canvas, adapters, optimisation, tracking, gate."""

from __future__ import annotations

from typing import Literal

from pydantic import Field, model_validator

from components.config.base import Section
from components.train.recipes import apply_recipe
from components.train.families.gmm_tom.params import GmmTomParams
from components.train.families.unet_gan.params import UnetGanParams

Category = Literal["upper_body", "lower_body", "dresses"]
# The manifest's garment-as-worn fit ratios (components/fit), in FitRatios order: what size conditioning reads.
FIT_COLUMNS: tuple[str, ...] = ("fit_width_ratio", "fit_length_ratio", "fit_span_ratio")

DEFAULT_PROMPTS: dict[str, str] = {
    # CatVTON-Flux style in-context prompts: the left panel is the garment, the right the same garment worn.
    "upper_body": (
        "The pair of images highlights a top and its fit on a person; [IMAGE1] a detailed shot of the top on its own; "
        "[IMAGE2] the same top worn by a person, with natural folds and fit."
    ),
    "lower_body": (
        "The pair of images highlights a pair of trousers or a skirt and its fit on a person; [IMAGE1] a detailed "
        "shot of the lower-body garment on its own; [IMAGE2] the same garment worn by a person, fitted at the waist."
    ),
    "dresses": (
        "The pair of images highlights a dress and its fit on a person; [IMAGE1] a detailed shot of the dress on "
        "its own; [IMAGE2] the same dress worn by a person, with its length and drape true to the product."
    ),
}


class TinyModelParams(Section):
    """Sizes of the randomly initialised FLUX-architecture model used by the `smoke` profile."""

    seed: int = 0
    num_layers: int = Field(default=1, ge=1)
    num_single_layers: int = Field(default=1, ge=0)
    attention_head_dim: int = Field(default=16, gt=0)
    num_attention_heads: int = Field(default=2, gt=0)
    joint_attention_dim: int = Field(default=32, gt=0)  # T5 hidden size
    pooled_projection_dim: int = Field(default=32, gt=0)  # CLIP hidden size
    vae_block_out_channels: list[int] = Field(default_factory=lambda: [16, 32])  # 2 levels: 2x downsampling
    vae_latent_channels: int = Field(default=4, gt=0)
    max_sequence_length: int = Field(default=32, gt=0)  # T5 tokens per prompt


class OptimizerParams(Section):
    """AdamW settings; `eight_bit` uses bitsandbytes' AdamW8bit when it is installed (else plain AdamW, logged)."""

    weight_decay: float = Field(default=1e-4, ge=0)
    beta1: float = Field(default=0.9, gt=0, lt=1)
    beta2: float = Field(default=0.999, gt=0, lt=1)
    eps: float = Field(default=1e-8, gt=0)
    max_grad_norm: float = Field(default=1.0, gt=0)
    warmup_steps: int = Field(default=0, ge=0)
    scheduler: Literal["constant", "constant_with_warmup", "cosine", "linear"] = "constant_with_warmup"
    eight_bit: bool = False


class TimestepParams(Section):
    """FLUX flow-matching timestep sampling: density of u, then how u becomes sigma.

    `scheduler`: u picks a step of the base model's own scheduler training grid (FlowMatchEulerDiscreteScheduler
    from its scheduler config: `shift` applied there unless `use_dynamic_shifting`), as the CatVTON-Flux
    reference does. `flux_shift`: sigma = u shifted by exp(mu), mu linear in the token count (the anchors below).
    """

    sampling: Literal["scheduler", "flux_shift"] = "flux_shift"
    weighting_scheme: Literal["logit_normal", "uniform", "mode"] = "logit_normal"
    logit_mean: float = 0.0
    logit_std: float = Field(default=1.0, gt=0)
    mode_scale: float = 1.29
    # mu grows linearly with the packed sequence length between these anchors (FLUX's `calculate_shift`).
    shift_resolution_dependent: bool = True
    base_seq_len: int = Field(default=256, gt=0)
    max_seq_len: int = Field(default=4096, gt=0)
    base_shift: float = 0.5
    max_shift: float = 1.15


class GateParams(Section):
    """Smoke-training gate: overfit a handful of samples; the loss must fall by `min_loss_drop_factor`."""

    enabled: bool = False
    samples: int = Field(default=2, ge=1)
    steps: int = Field(default=30, ge=1)
    learning_rate: float = Field(default=1e-3, gt=0)
    min_loss_drop_factor: float = Field(default=2.0, ge=1.0)
    eval_noise_draws: int = Field(default=4, ge=1)  # fixed (noise, sigma) draws the loss is measured on


class TrackingParams(Section):
    """What goes to the retrain's MLflow run, and how often."""

    log_every: int = Field(default=5, ge=1)
    validate_every: int = Field(default=0, ge=0)  # 0: only at the end of training
    validation_steps: int = Field(default=4, ge=1)  # denoising steps for the validation grid
    validation_per_category: int = Field(default=1, ge=1)


class SizeConditioningParams(Section):
    """Size-aware try-on: the garment-as-worn fit ratios (components/fit) condition the model.

    `train.size_conditioning: true` is short for `{enabled: true}`. Every family reads the three ratios
    (zero-initialised new weights, so a run starts as the size-blind model) and a spatial size map
    (components/train/families/size.py).
    """

    enabled: bool = False
    columns: list[str] = Field(default_factory=lambda: list(FIT_COLUMNS))  # manifest columns, in FitRatios order
    default_value: float = Field(default=1.0, gt=0)  # CatVTON-Flux's latent cache: used where a ratio is missing

    @model_validator(mode="before")
    @classmethod
    def _shorthand(cls, data):
        return {"enabled": data} if isinstance(data, bool) else data

    @model_validator(mode="after")
    def _three(self) -> "SizeConditioningParams":
        if len(self.columns) != len(FIT_COLUMNS):
            raise ValueError(f"train.size_conditioning.columns: the three fit ratios (width, length, span) are read, "
                             f"got {self.columns}; the default is {list(FIT_COLUMNS)}")
        return self


class TrainParams(Section):
    """The CatVTON-Flux style trainer: base model, canvas, adapters, optimisation, checkpoints, tracking, gate.

    `recipe` fills the keys it names that are left unset (components/train/recipes.py); set keys always win.
    """

    recipe: Literal["catvton_flux", "vton_lora"] = "catvton_flux"

    # Which model family trains (components/train/families/__init__.py); each baseline has its own section below.
    model: Literal["catvton_flux", "unet_gan", "gmm_tom"] = "catvton_flux"
    unet_gan: UnetGanParams = UnetGanParams()
    gmm_tom: GmmTomParams = GmmTomParams()
    # Where the base model comes from: `tiny` (random, built in code) or the model store (real FLUX.1 Fill dev).
    base_model: Literal["tiny", "flux-fill-dev", "catvton-flux"] = "tiny"
    tiny: TinyModelParams = TinyModelParams()
    mode: Literal["lora", "attention"] = "lora"
    lora_rank: int = Field(default=4, gt=0)
    lora_alpha: float = Field(default=4.0, gt=0)
    lora_dropout: float = Field(default=0.0, ge=0, lt=1)
    lora_target_modules: list[str] = Field(
        default_factory=lambda: ["to_q", "to_k", "to_v", "to_out.0", "add_q_proj", "add_k_proj", "add_v_proj",
                                 "to_add_out"]
    )
    # Attention-only fine-tuning trains every parameter whose name contains one of these.
    attention_trainable: list[str] = Field(default_factory=lambda: ["attn."])

    # Canvas: garment panel left, person panel right; each panel is (width, height) of one aspect bucket.
    buckets: list[tuple[int, int]] = Field(default_factory=lambda: [(64, 64), (48, 64)])
    prompts: dict[Category, str] = Field(default_factory=lambda: dict(DEFAULT_PROMPTS))
    prompt: str | None = None  # one prompt for every category (overrides `prompts`); None: per-category prompts
    mask_threshold: int = Field(default=128, ge=1, le=255)  # agnostic mask pixels >= this are repainted
    size_conditioning: SizeConditioningParams = SizeConditioningParams()

    max_steps: int = Field(default=20, gt=0)
    batch_size: int = Field(default=1, gt=0)
    gradient_accumulation_steps: int = Field(default=1, ge=1)
    learning_rate: float = Field(default=1e-4, gt=0)
    optimizer: OptimizerParams = OptimizerParams()
    timesteps: TimestepParams = TimestepParams()
    guidance_scale: float = Field(default=30.0, ge=0)  # FLUX.1 Fill dev's distilled guidance at inference
    train_guidance_scale: float = Field(default=30.0, ge=0)  # the guidance embedding's value during training
    loss_region: Literal["canvas", "person"] = "person"  # which latent tokens the flow-matching loss averages over
    mixed_precision: Literal["no", "fp16", "bf16"] = "no"
    gradient_checkpointing: bool = False
    compile: bool = False  # torch.compile the transformer
    num_workers: int = Field(default=0, ge=0)
    pin_memory: bool = False
    device: Literal["auto", "cpu", "cuda"] = "auto"
    num_threads: int = Field(default=0, ge=0)  # torch CPU threads; 0 leaves torch's default

    checkpoint_every: int = Field(default=10, ge=1)
    checkpoints_to_keep: int = Field(default=2, ge=1)
    cache_dir: str = ".cache/train"  # content-keyed latents and text embeddings, shared across runs
    inference_steps: int = Field(default=4, ge=1)  # default denoising steps of the packaged model
    tracking: TrackingParams = TrackingParams()
    gate: GateParams = GateParams()

    @model_validator(mode="before")
    @classmethod
    def _recipe_defaults(cls, data):
        return apply_recipe(data) if isinstance(data, dict) else data

    def category_prompts(self) -> dict[str, str]:
        """The prompt of each category: the one `prompt` everywhere when set, else `prompts`."""
        if self.prompt is not None:
            return {c: self.prompt for c in ("upper_body", "lower_body", "dresses")}
        return dict(self.prompts)

    @model_validator(mode="after")
    def _check(self) -> "TrainParams":
        for w, h in self.buckets:
            if w % 16 or h % 16 or w <= 0 or h <= 0:
                raise ValueError(f"train.buckets: panel sizes must be positive multiples of 16, got {(w, h)}")
        if (self.size_conditioning.enabled and self.model == "catvton_flux" and self.mode == "lora"
                and any(t.split(".")[-1] == "x_embedder" for t in self.lora_target_modules)):
            raise ValueError("train.lora_target_modules: x_embedder reads the size map with columns of its own when "
                             "size_conditioning is on (components/train/size_map.py); leave it out of the LoRA")
        missing = {"upper_body", "lower_body", "dresses"} - set(self.prompts)
        if missing:
            raise ValueError(f"train.prompts: a prompt is needed for every category, missing {sorted(missing)}")
        return self
