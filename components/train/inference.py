"""Try-on inference with a trained candidate: garment + person + agnostic mask + category -> the person wearing it.

`TryOnPipeline.from_pretrained(models/candidate)` reads model.json (base model, adapter, canvas settings),
loads the base FluxFillPipeline (tiny base shipped inside the model dir, or FLUX.1 Fill dev from the model
store), applies the LoRA / attention weights and runs in-context inpainting on the (garment | person) canvas.
A size-aware model also reads the requested fit: the pooled-embedding offset and, through the mask path, the
size map of the photo (components/train/size_map.py), the photo annotated for its worn region on the fly.
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
        from components.train.families.base import SizeMapInput, size_map_input

        self.pipe = pipe
        self.config = config
        self.size_conditioner = size_conditioner
        # The size map through the mask path (components/train/size_map.py); models from before it: ratios only.
        self.reads_size_map = size_map_input(config) == SizeMapInput.MASK_PATH
        self.photos = None  # PhotoAnnotator for the worn region of bare photos (size map), made on first use
        self._prompt_cache: dict[str, tuple] = {}
        self._said_size_blind = False
        self._said_no_map = False

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
        from components.train.families.base import SizeMapInput, size_map_input

        if size_map_input(config) == SizeMapInput.MASK_PATH:
            from components.train.size_map import SIZE_MAP_WEIGHT_NAME, load_size_map

            load_size_map(pipe.transformer, adapter_dir / SIZE_MAP_WEIGHT_NAME, pipe.vae_scale_factor)
        pipe.set_progress_bar_config(disable=True)
        return cls(pipe, config, size)

    def cache_annotations(self, cache_dir: Path | None):  # noqa: ANN201 - PhotoAnnotator
        """Remember bare photos' annotations (for the size map) in `cache_dir` across calls; the PhotoAnnotator."""
        from components.annotate.params import AnnotateParams
        from components.annotate.photo_cache import PhotoAnnotator

        recorded = self.config.get("annotate")
        settings = AnnotateParams.model_validate(recorded) if recorded else AnnotateParams()
        self.photos = PhotoAnnotator(settings, cache_dir)
        return self.photos

    def size_map_for(self, person: Image.Image, garment: Image.Image, mask: Image.Image, category: str,
                     canvas: Canvas, size_ratios: tuple[float, ...] | None = None):
        """The person panel's size map for `size_ratios` (None: as worn), from the photo annotated like the
        baselines annotate it; the repainted region (said once) when the photo cannot be annotated."""
        from components.train.size_map import photo_size_map

        if self.photos is None:
            self.cache_annotations(None)
        ratios = tuple(size_ratios) if size_ratios is not None and len(size_ratios) == 3 else None
        try:
            return photo_size_map(person, garment, mask, category, canvas.panel, self.photos.settings, self.photos,
                                  ratios)
        except ValueError as exc:
            unfollowed = ", the requested fit is not drawn" if ratios is not None else ""
            self._note_no_map(f"{exc}: the repainted region stands in for the size map{unfollowed}")
            return None

    def _note_no_map(self, text: str) -> None:
        if not self._said_no_map:
            import sys

            print(f"note: {text}", file=sys.stderr)
            self._said_no_map = True

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
        size_map=None,
    ) -> Image.Image:
        """Inpaint the person half of `canvas`; returns the whole generated canvas.

        `size_map` (bool h x w on the person panel, `size_map_for`) is read by models that read the map; without
        one they get the repainted region, the map of a person whose worn garment is unknown."""
        import contextlib

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
        feeding = contextlib.nullcontext()
        if self.reads_size_map:
            feeding = self._feeding(canvas, size_map)
        steps = int(num_inference_steps or self.config.get("inference_steps", 28))
        generator = torch.Generator(device="cpu").manual_seed(int(seed))
        with torch.no_grad(), feeding:
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

    def _feeding(self, canvas: Canvas, size_map):
        """The context that appends the canvas's packed size map to the transformer's input (as in training)."""
        import numpy as np

        from components.train.canvas import size_map_canvas
        from components.train.size_map import feeding_size_map, size_map_tokens

        if size_map is None:
            size_map = np.asarray(canvas.mask)[:, canvas.panel[0]:] >= 128
        image = size_map_canvas(size_map, canvas.panel)
        # The pipeline's own mask preprocessing (resize to the canvas, binarise), then the mask's packing.
        pixels = self.pipe.mask_processor.preprocess(image, height=canvas.image.height, width=canvas.image.width)
        tokens = size_map_tokens(pixels, self.pipe.vae_scale_factor)
        return feeding_size_map(self.pipe.transformer, tokens)

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
        size_map = (self.size_map_for(person, garment, mask, category, canvas, size_ratios) if self.reads_size_map
                    else None)
        out = self.generate_canvas(canvas, category, num_inference_steps, seed, size_ratios, size_map)
        return person_half(out).resize(person.size, Image.BICUBIC)
