"""SCHP human parsing: LIP (20 classes) and ATR (18 classes) label maps from the official checkpoints."""

from __future__ import annotations

import numpy as np

from components.annotate.annotators.base import BatchedAnnotator
from components.annotate.annotators.torch_device import chunks, resolve_device, resolve_dtype
from components.annotate.maps import BodyMaps
from components.annotate.params import SchpParams


class SchpParsing(BatchedAnnotator):
    """LIP map (`image-parse-v3`) and ATR map (DressCode `label_maps`) from the two published SCHP models."""

    name = "schp_lip_atr"
    version = "schp-lip201908261155-atr201908301523"
    weights = ("schp_lip", "schp_atr")
    provides = ("parse_lip", "parse_atr")
    params_field = "schp"
    settings_fields = ("schp",)  # input size, float16 (device and batch_size are placement)

    def __init__(self, settings=None) -> None:
        super().__init__(settings)  # resolves the catalogued weights: MissingWeightsError names absent files
        import torch

        from components.annotate.networks.schp import ATR, LIP, load_schp
        from components.models.store import ensure_weights

        self.params: SchpParams = settings.schp if settings is not None else SchpParams()
        self.device = resolve_device(self.params.device)
        self.dtype = resolve_dtype(self.device, self.params.half)
        self.models = {}
        for ds, weights in ((LIP, "schp_lip"), (ATR, "schp_atr")):
            model = load_schp(ensure_weights(weights), ds, self.device)
            self.models[ds.name] = (model.to(dtype=self.dtype), self._input_size(ds.input_size))

    def _input_size(self, published: tuple[int, int]) -> tuple[int, int]:
        side = self.params.input_size
        return published if side is None else (side, side)

    def annotate_batch(self, images: list[np.ndarray]) -> list[BodyMaps]:
        """LIP and ATR maps per image, `schp.batch_size` at a time (one forward per chunk and dataset)."""
        from components.annotate.networks.schp import parse_images

        out = []
        for chunk in chunks(images, self.params.batch_size):
            lip_model, lip_size = self.models["lip"]
            atr_model, atr_size = self.models["atr"]
            lips = parse_images(lip_model, chunk, lip_size, self.dtype)
            atrs = parse_images(atr_model, chunk, atr_size, self.dtype)
            out += [BodyMaps(parse_lip=lip, parse_atr=atr) for lip, atr in zip(lips, atrs)]
        return out
