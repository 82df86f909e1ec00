"""Annotate person photos: letterbox them, run the annotators on the photos, move the maps into the frame."""

from __future__ import annotations

import numpy as np
from PIL import Image

from components.annotate.annotators.base import Annotator
from components.annotate.frame import Letterbox, letterbox, place_maps
from components.annotate.maps import BodyMaps
from components.errors import Quarantine

Annotated = tuple[np.ndarray, BodyMaps, Letterbox]


def annotate_people(images: list[Image.Image], annotators: list[Annotator], width: int, height: int
                    ) -> list[Annotated | Quarantine]:
    """Per photo (frame RGB, maps in the frame, where the photo sits) or the reason to quarantine it.

    Each annotator sees every photo still usable after the earlier roles in one `annotate_many` call,
    so the GPU annotators run them as batches; a photo quarantined by one role skips the later ones.
    """
    framed = [letterbox(image, width, height) for image in images]
    maps = [BodyMaps() for _ in images]
    failed: dict[int, Quarantine] = {}
    alive = list(range(len(images)))
    for annotator in annotators:
        if not alive:
            break
        results = annotator.annotate_many([framed[i][1] for i in alive], [maps[i] for i in alive])
        for i, result in zip(alive, results):
            if isinstance(result, Quarantine):
                failed[i] = result
            else:
                maps[i].update(result)
        alive = [i for i in alive if i not in failed]
    return [failed[i] if i in failed else (frame, place_maps(maps[i], box), box)
            for i, (frame, _, box) in enumerate(framed)]


def annotate_person(image: Image.Image, annotators: list[Annotator], width: int, height: int) -> Annotated:
    """(frame RGB, maps in the frame, where the photo sits) for one photo; raises Quarantine for unusable photos."""
    (result,) = annotate_people([image], annotators, width, height)
    if isinstance(result, Quarantine):
        raise result
    return result
