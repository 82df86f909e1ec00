"""The agnostic mask of a bare person photo, from the annotate step's own annotators (for serving without a mask).

Optional at serving time: it needs the annotate component and its models (MediaPipe by default).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
from PIL import Image

ANNOTATE_KEY = "annotate"  # model.json's section: the annotate settings the model's people were annotated with


def recorded_settings(config: dict):  # noqa: ANN201 - AnnotateParams | None
    """The annotate settings model.json records, or None for a model written before they were recorded."""
    from components.annotate.params import AnnotateParams

    recorded = config.get(ANNOTATE_KEY)
    return AnnotateParams.model_validate(recorded) if recorded else None


def mask_photos(settings, predictor, cache_dir: Path | None = None):  # noqa: ANN201 - PhotoAnnotator
    """The PhotoAnnotator that makes masks with `settings`: the predictor's own when it annotates with the same
    settings (each photo then annotated once for its mask and its person representation)."""
    from components.annotate.photo_cache import PhotoAnnotator

    if hasattr(predictor, "cache_annotations"):
        own = predictor.cache_annotations(cache_dir)  # the predictor's own (it keeps it as `photos`)
        if own.settings == settings:
            return own
    return PhotoAnnotator(settings, cache_dir)


def agnostic_mask_for_image(person: Image.Image, category: str, settings=None, photos=None) -> Image.Image:
    """An L-mode mask (255 = repaint) at the photo's size, built like `vton annotate` builds it.

    `photos` (a components.annotate.photo_cache.PhotoAnnotator with these settings) annotates each photo once."""
    from components.annotate.agnostic import agnostic_mask
    from components.annotate.annotators import build_annotators
    from components.annotate.params import AnnotateParams
    from components.annotate.person import annotate_person
    from components.errors import Quarantine

    settings = settings or AnnotateParams()
    try:
        if photos is not None:
            _, maps, box = photos.annotate(person)
        else:
            _, maps, box = annotate_person(person, build_annotators(settings), settings.width, settings.height)
        mask = agnostic_mask(category, maps, settings.mask, valid=box.region())
    except Quarantine as exc:
        raise ValueError(f"cannot build an agnostic mask for this photo: {exc.reason}") from None
    crop = Image.fromarray((np.asarray(mask) > 0).astype(np.uint8) * 255).crop((box.x0, box.y0, box.x1, box.y1))
    return crop.resize(person.size, Image.NEAREST)
