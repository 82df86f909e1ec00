"""Try-on inference with a trained candidate: garment + person + agnostic mask + category -> the person wearing it.

`TryOnPipeline.from_pretrained(models/candidate)` reads model.json (base model, adapter, canvas settings),
loads the base FluxFillPipeline (tiny base shipped inside the model dir, or FLUX.1 Fill dev from the model
store), applies the LoRA / attention weights and runs in-context inpainting on the (garment | person) canvas.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from PIL import Image

from components.errors import ConfigError
from components.train.canvas import Canvas, choose_bucket, make_canvas, person_half

MODEL_CONFIG = "model.json"


class TryOnPipeline:
    """A FluxFillPipeline plus the canvas, prompts and adapters of one trained try-on model."""

    def __init__(self, pipe: Any, config: dict[str, Any], size_conditioner=None) -> None:
        self.pipe = pipe
        self.config = config
        self.size_conditioner = size_conditioner
        self._prompt_cache: dict[str, tuple] = {}
        self._said_size_blind = False

    @classmethod
    def from_pretrained(cls, model_dir: Path | str, device: str = "cpu") -> "TryOnPipeline":
        """Load what the trainer saved in `model_dir` (model.json + adapter weights [+ tiny base])."""
        from components.train.adapters import (
            ATTENTION_WEIGHT_NAME,
            LORA_WEIGHT_NAME,
            SIZE_WEIGHT_NAME,
            SizeConditioner,
            load_attention_weights,
        )
        from components.train.base_model import load_base_from_spec

        model_dir = Path(model_dir)
        cfg_path = model_dir / MODEL_CONFIG
        if not cfg_path.is_file():
            raise ConfigError(f"{cfg_path}: not found; {model_dir} is not a trained try-on model",
                              hint="run `vton train` first (it writes models/candidate)")
        config = json.loads(cfg_path.read_text())
        base = load_base_from_spec(config["base"], model_dir, device=device)
        pipe = base.pipe
        adapter_dir = model_dir / "adapter"
        if config["mode"] == "lora":
            pipe.load_lora_weights(str(adapter_dir), weight_name=LORA_WEIGHT_NAME, adapter_name="tryon")
        else:
            load_attention_weights(pipe.transformer, adapter_dir / ATTENTION_WEIGHT_NAME)
        size = None
        if config.get("size_conditioning", {}).get("enabled"):
            from safetensors.torch import load_file

            cols = config["size_conditioning"]["columns"]
            size = SizeConditioner(len(cols), pipe.transformer.config.pooled_projection_dim)
            size.load_state_dict(load_file(str(adapter_dir / SIZE_WEIGHT_NAME)))
            size.to(device)
        pipe.set_progress_bar_config(disable=True)
        return cls(pipe, config, size)

    def use_prompt_embeddings(self, category: str, prompt_embeds, pooled) -> None:
        """Use precomputed embeddings for `category` (the trainer's cache) instead of running the text encoders."""
        self._prompt_cache[category] = (prompt_embeds, pooled)

    def _prompt(self, category: str) -> tuple:
        if category not in self.config["prompts"]:
            raise ConfigError(f"unknown category {category!r}; expected one of {sorted(self.config['prompts'])}")
        if category not in self._prompt_cache:
            import torch

            with torch.no_grad():
                embeds, pooled, _ = self.pipe.encode_prompt(
                    prompt=self.config["prompts"][category],
                    prompt_2=self.config["prompts"][category],
                    device=self.pipe.transformer.device,
                    max_sequence_length=int(self.config["base"].get("max_sequence_length", 512)),
                )
            self._prompt_cache[category] = (embeds, pooled)
        return self._prompt_cache[category]

    def _note(self, text: str) -> None:
        """Say once per pipeline why a size request is not followed (never silently)."""
        if not self._said_size_blind:
            import sys

            print(f"note: {text}", file=sys.stderr)
            self._said_size_blind = True

    def canvas(self, person: Image.Image, garment: Image.Image, mask: Image.Image) -> Canvas:
        """The (garment | person) canvas at the bucket nearest the person photo's aspect ratio."""
        panel = choose_bucket(person.width, person.height, [tuple(b) for b in self.config["buckets"]])
        return make_canvas(garment, person, mask, panel, int(self.config.get("mask_threshold", 128)))

    def generate_canvas(
        self,
        canvas: Canvas,
        category: str,
        num_inference_steps: int | None = None,
        seed: int = 0,
        size_ratios: tuple[float, ...] | None = None,
    ) -> Image.Image:
        """Inpaint the person half of `canvas`; returns the whole generated canvas."""
        import torch

        embeds, pooled = self._prompt(category)
        if self.size_conditioner is not None:
            columns = self.config["size_conditioning"]["columns"]
            n = len(columns)
            # No request: NaN ratios, which the conditioner reads as "as worn" (a zero offset).
            asked = list(size_ratios) if size_ratios is not None else [float("nan")] * n
            if len(asked) != n:  # a model from before the fit ratios (garment_to_body columns): other figures
                self._note(f"this model reads {columns}, not the fit ratios (width, length, span): the requested "
                           "fit is ignored")
                asked = [float("nan")] * n
            ratios = torch.tensor([[float("nan") if v is None else float(v) for v in asked]], dtype=torch.float32,
                                  device=pooled.device)
            with torch.no_grad():
                pooled = self.size_conditioner(pooled, ratios)
        elif size_ratios is not None:
            self._note("this catvton_flux model was trained without size conditioning (train.size_conditioning): "
                       "the requested fit is ignored")
        steps = int(num_inference_steps or self.config.get("inference_steps", 28))
        generator = torch.Generator(device="cpu").manual_seed(int(seed))
        with torch.no_grad():
            out = self.pipe(
                image=canvas.image,
                mask_image=canvas.mask,
                prompt_embeds=embeds,
                pooled_prompt_embeds=pooled,
                height=canvas.image.height,
                width=canvas.image.width,
                num_inference_steps=steps,
                guidance_scale=float(self.config.get("guidance_scale", 30.0)),
                generator=generator,
            ).images[0]
        return out

    def __call__(
        self,
        person: Image.Image,
        garment: Image.Image,
        mask: Image.Image,
        category: str,
        num_inference_steps: int | None = None,
        seed: int = 0,
        size_ratios: tuple[float, ...] | None = None,
    ) -> Image.Image:
        """The try-on result at the person photo's size (mask: the agnostic mask, white = repaint)."""
        canvas = self.canvas(person, garment, mask)
        out = self.generate_canvas(canvas, category, num_inference_steps, seed, size_ratios)
        return person_half(out).resize(person.size, Image.BICUBIC)
