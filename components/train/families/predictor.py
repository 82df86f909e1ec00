"""What the baseline predictors share: annotate the photo on the fly, run the network at its size, map back.

A baseline family subclasses `BaselinePredictor` and implements `generate(batch) -> Bx3xHxW in [-1, 1]`
on a batch from `collate_inputs`; the photo handling (letterbox, annotators, paste back) is done here, and
so is a size request: a size-aware model gets the requested ratios and the size map built from them
(families/size.py); a size-blind one says once that it ignores them.
"""

from __future__ import annotations

import json
import math
import shutil
import sys
from pathlib import Path
from typing import Any

import torch
from PIL import Image

from components.train.families.base import FAMILY_KEY, is_size_aware
from components.train.families.representation import PersonInputs, collate_inputs, inputs_from_photo, to_photo
from components.train.families.size import request_size_map

WEIGHTS_FILE = "weights.safetensors"


class BaselinePredictor:
    """Person + garment + mask + category -> the try-on image at the person's size (the Predictor contract)."""

    def __init__(self, config: dict[str, Any], device: str = "cpu") -> None:
        from components.annotate.params import AnnotateParams

        self.config = config
        self.device = torch.device(device)
        self.size = (int(config["width"]), int(config["height"]))
        recorded = config.get("annotate")
        self.annotate = AnnotateParams.model_validate(recorded) if recorded else AnnotateParams()
        self.size_aware = is_size_aware(config)
        self._annotators = None
        self.photos = None  # PhotoAnnotator: each distinct photo annotated once (in memory unless given a folder)
        self._said_size_blind = False

    def annotators(self) -> list:
        """The configured annotators, built once (their models load on first use)."""
        if self._annotators is None:
            from components.annotate.annotators import build_annotators

            self._annotators = build_annotators(self.annotate)
        return self._annotators

    def cache_annotations(self, cache_dir: Path | None):  # noqa: ANN201 - PhotoAnnotator
        """Remember bare photos' annotations in `cache_dir` (the annotate cache) across calls; the PhotoAnnotator."""
        from components.annotate.photo_cache import PhotoAnnotator

        self.photos = PhotoAnnotator(self.annotate, cache_dir, self._annotators)
        return self.photos

    def generate(self, batch: dict[str, torch.Tensor]) -> torch.Tensor:
        """The network's try-on for a collated batch (on self.device), Bx3xHxW in [-1, 1]."""
        raise NotImplementedError

    def inputs(self, person: Image.Image, garment: Image.Image, mask: Image.Image | None, category: str
               ) -> PersonInputs:
        """The person representation of a bare photo, annotated with the model's annotate settings."""
        if self.photos is None:
            self.cache_annotations(None)
        return inputs_from_photo(person, garment, mask, category, self.size, self.annotate, photos=self.photos)

    def size_request(self, batch: dict, size_ratios: list | None) -> dict:
        """`batch` with the requested ratios and their size map (size-aware models; None rows: as worn)."""
        if size_ratios is None or not self.size_aware:
            if size_ratios is not None and any(r is not None for r in size_ratios):
                self.note_size_blind()
            return batch
        size_map, requested = request_size_map(batch, size_ratios)
        return {**batch, "size_map": size_map, "size_ratios": requested}

    def note_size_blind(self) -> None:
        """Say (once per predictor) that this model cannot follow a size request."""
        if not self._said_size_blind:
            print(f"note: this {self.config.get('family', 'model')} model was trained without size conditioning "
                  "(train.size_conditioning): the requested fit is ignored", file=sys.stderr)
            self._said_size_blind = True

    def predict_inputs(self, items: list[PersonInputs], size_ratios: list | None = None) -> torch.Tensor:
        """The network's output for prepared inputs (Bx3xHxW, CPU); `size_ratios` one (w, l, s) or None per item."""
        batch = {k: v.to(self.device) if torch.is_tensor(v) else v for k, v in collate_inputs(items).items()}
        batch = self.size_request(batch, size_ratios)
        with torch.no_grad():
            return self.generate(batch).float().cpu()

    def __call__(self, person: Image.Image, garment: Image.Image, mask: Image.Image, category: str,
                 num_inference_steps: int | None = None, seed: int = 0,
                 size_ratios: tuple[float, float, float] | None = None) -> Image.Image:
        """The try-on result at the person photo's size (deterministic: steps and seed are not used).

        `size_ratios` (width, length, span; NaN = as worn) asks a size-aware model for that fit."""
        inputs = self.inputs(person, garment, mask, category)
        request = None if size_ratios is None else [tuple(math.nan if v is None else float(v) for v in size_ratios)]
        out = self.predict_inputs([inputs], request)[0]
        return to_photo(out, inputs, person, mask)


def write_model_dir(model_dir: Path, config: dict[str, Any], state: dict[str, torch.Tensor]) -> dict[str, Any]:
    """Write model.json + weights.safetensors atomically (tmp folder, then rename); returns the config written."""
    from safetensors.torch import save_file

    if FAMILY_KEY not in config:
        raise ValueError("model.json must name its family")
    tmp = model_dir.with_name(model_dir.name + ".tmp")
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir(parents=True)
    save_file({k: v.detach().float().cpu().contiguous() for k, v in state.items()}, str(tmp / WEIGHTS_FILE))
    (tmp / "model.json").write_text(json.dumps(config, indent=2) + "\n")
    shutil.rmtree(model_dir, ignore_errors=True)
    tmp.replace(model_dir)
    return config


def read_weights(model_dir: Path) -> dict[str, torch.Tensor]:
    """The weights write_model_dir saved."""
    from safetensors.torch import load_file

    return load_file(str(Path(model_dir) / WEIGHTS_FILE))
