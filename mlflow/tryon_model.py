"""The registered try-on model as an MLflow pyfunc (models-from-code): `mlflow models serve` serves this.

Input: a DataFrame with `person`, `garment` (base64 PNG/JPEG or file paths), `category` (upper_body |
lower_body | dresses) and optionally `mask` (the agnostic mask, white = repaint), `num_inference_steps`,
`seed`, and a size request: `fit` (tight | fitted | loose) or `width_ratio`, `length_ratio`, `span_ratio`
(components/fit's worn ratios), per row or as params; a size-blind model answers as worn and says so.
Output: a DataFrame with `image`, the try-on result as base64 PNG at the person photo's size.
The artifact `model_dir` is models/candidate as the trainer wrote it; its model.json names the model family
(components/train/families), whose predictor answers every row.
"""

from __future__ import annotations

import base64
import io
import sys
from pathlib import Path

import mlflow
import pandas as pd
from mlflow.pyfunc import PythonModel


def _decode_image(value, mode: str = "RGB"):
    """A PIL image from base64 bytes/text or a file path."""
    from PIL import Image

    if isinstance(value, (bytes, bytearray)):
        raw = bytes(value)
    else:
        text = str(value)
        try:
            is_path = len(text) < 4096 and Path(text).is_file()
        except OSError:  # base64 text can be an over-long or otherwise impossible file name
            is_path = False
        if is_path:
            with Image.open(text) as im:
                return im.convert(mode)
        raw = base64.b64decode(text.split(",", 1)[-1])
    with Image.open(io.BytesIO(raw)) as im:
        return im.convert(mode)


def _encode_png(image) -> str:
    buf = io.BytesIO()
    image.save(buf, format="PNG")
    return base64.b64encode(buf.getvalue()).decode("ascii")


RATIO_KEYS = ("width_ratio", "length_ratio", "span_ratio")  # a size request as the three worn ratios


def _missing(value) -> bool:
    return value is None or (isinstance(value, float) and value != value) or (isinstance(value, str) and not value)


class TryOnModel(PythonModel):
    """Loads the predictor of the model's family once from the `model_dir` artifact; one try-on image per row."""

    def load_context(self, context) -> None:
        """Load the predictor of whichever family model.json names (on CUDA when available)."""
        import torch

        from components.train.families import load_predictor

        from components.train.families import read_model_config

        device = "cuda" if torch.cuda.is_available() else "cpu"
        model_dir = Path(context.artifacts["model_dir"])
        self.config = read_model_config(model_dir)
        self.pipeline = load_predictor(model_dir, device=device)
        self.mask_photos = None  # built on the first row without a mask (needs the annotate component)

    def _mask_for(self, person, category: str):
        """The agnostic mask computed by the annotate masker (when that component is installed), with the
        annotate settings model.json records (the defaults for a model written before they were recorded)."""
        try:
            from components.train.automask import agnostic_mask_for_image, mask_photos, recorded_settings
            from components.annotate.params import AnnotateParams  # needs the annotate component
        except ImportError as exc:
            raise ValueError(
                "row has no `mask` and the annotate masker is not available here; pass the agnostic mask "
                "(white = repaint) as base64 PNG in a `mask` column"
            ) from exc
        if self.mask_photos is None:
            settings = recorded_settings(self.config)
            if settings is None:
                print("tryon model: model.json records no annotate settings (a model written before they were "
                      "recorded): masks are made with the annotate defaults", file=sys.stderr)
                settings = AnnotateParams()
            self.mask_photos = mask_photos(settings, self.pipeline)
        return agnostic_mask_for_image(person, category, self.mask_photos.settings, self.mask_photos)

    def _size_request(self, row: dict, params: dict, category: str):
        """The row's (width, length, span) request: `fit` or the ratio columns (row first, then params)."""
        from components.train.families.base import requested_ratios

        def pick(key):
            value = row.get(key)
            return params.get(key) if _missing(value) else value

        fit = pick("fit")
        ratios = [pick(k) for k in RATIO_KEYS]
        given = [None if _missing(v) else float(v) for v in ratios]
        return requested_ratios(self.config, category, None if _missing(fit) else str(fit),
                                given if any(v is not None for v in given) else None)

    def predict(self, context, model_input: pd.DataFrame, params: dict | None = None) -> pd.DataFrame:
        """One base64 PNG try-on image per input row."""
        params = params or {}
        out = []
        for row in model_input.to_dict(orient="records"):
            person = _decode_image(row["person"])
            garment = _decode_image(row["garment"])
            category = str(row["category"])
            mask_value = row.get("mask")
            mask = self._mask_for(person, category) if _missing(mask_value) else _decode_image(mask_value, "L")
            steps = row.get("num_inference_steps", params.get("num_inference_steps"))
            seed = row.get("seed", params.get("seed", 0))
            size = self._size_request(row, params, category)
            image = self.pipeline(
                person, garment, mask, category,
                num_inference_steps=None if _missing(steps) else int(steps),
                seed=0 if _missing(seed) else int(seed),
                **({"size_ratios": size} if size is not None else {}),
            )
            out.append(_encode_png(image))
        return pd.DataFrame({"image": out})


mlflow.models.set_model(TryOnModel())
