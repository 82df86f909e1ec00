"""Annotate one person photo: letterbox it, run the annotators on the photo, move the maps into the frame."""

from __future__ import annotations

import numpy as np
from PIL import Image

from components.annotate.annotators.base import Annotator
from components.annotate.frame import Letterbox, letterbox, place_maps
from components.annotate.maps import BodyMaps


def annotate_person(image: Image.Image, annotators: list[Annotator], width: int, height: int
                    ) -> tuple[np.ndarray, BodyMaps, Letterbox]:
    """(frame RGB, maps in the frame, where the photo sits) for one photo; Quarantine for unusable photos."""
    frame, content, box = letterbox(image, width, height)
    maps = BodyMaps()
    for annotator in annotators:
        maps.update(annotator(content, maps))
    return frame, place_maps(maps, box), box
