"""The output frame: every person and garment image is resized to annotate.width x height keeping its
aspect ratio, centred and padded with white (the backdrop of VITON-HD / DressCode product shots).

Padding rather than cropping keeps every body part the photo shows (a crop would cut heads or feet and
make keypoints vanish); padding rather than stretching keeps body proportions, which the measurements
and the try-on model both rely on. Annotators run on the resized photo without its padding (MediaPipe
misses people in padded frames); the engine moves their maps into the frame with place_maps.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from PIL import Image

PAD_RGB = (255, 255, 255)


@dataclass(frozen=True)
class Letterbox:
    """Where the photo sits inside the output frame."""

    width: int
    height: int
    scale: float
    x0: int
    y0: int
    x1: int
    y1: int

    @property
    def box(self) -> tuple[float, float, float, float]:
        """(x0, y0, x1, y1) of the photo inside the frame."""
        return float(self.x0), float(self.y0), float(self.x1), float(self.y1)

    @property
    def fills_frame(self) -> bool:
        """True when the photo covers the whole frame (no padding)."""
        return (self.x0, self.y0, self.x1, self.y1) == (0, 0, self.width, self.height)

    def region(self) -> np.ndarray:
        """Bool height x width mask of the photo's pixels (False on the padding)."""
        out = np.zeros((self.height, self.width), dtype=bool)
        out[self.y0:self.y1, self.x0:self.x1] = True
        return out


def solid(height: int, width: int, rgb: tuple[int, int, int]) -> np.ndarray:
    """A height x width RGB uint8 image of one colour."""
    if rgb[0] == rgb[1] == rgb[2]:
        return np.full((height, width, 3), rgb[0], np.uint8)  # a byte fill: ~15x faster than broadcasting a triple
    out = np.empty((height, width, 3), np.uint8)
    out[...] = rgb
    return out


def letterbox(image: Image.Image, width: int, height: int) -> tuple[np.ndarray, np.ndarray, Letterbox]:
    """(frame, content, box): `image` resized to fit width x height keeping its aspect, the padded frame,
    the unpadded resized photo (what annotators see: padding confuses detectors) and where it sits."""
    if image.mode != "RGB":  # convert, resize and paste each copy the whole image even when nothing changes
        image = image.convert("RGB")
    scale = min(width / image.width, height / image.height)
    new_w, new_h = max(1, round(image.width * scale)), max(1, round(image.height * scale))
    if (new_w, new_h) != image.size:
        image = image.resize((new_w, new_h), Image.Resampling.LANCZOS)
    content = np.array(image, dtype=np.uint8)
    x0, y0 = (width - new_w) // 2, (height - new_h) // 2
    frame = solid(height, width, PAD_RGB)
    frame[y0:y0 + new_h, x0:x0 + new_w] = content
    box = Letterbox(width, height, scale, x0, y0, x0 + new_w, y0 + new_h)
    return frame, content, box


def place_maps(maps, box: Letterbox):
    """`maps` computed on the unpadded photo, moved into the output frame (masks padded with 0,
    keypoints shifted by the padding offset; missing points stay zeros)."""
    from components.annotate.maps import MAP_FIELDS, BodyMaps

    out = BodyMaps(n_people=maps.n_people, sources=dict(maps.sources), pose_attempt=maps.pose_attempt)
    pad = ((box.y0, box.height - box.y1), (box.x0, box.width - box.x1))
    fills = box.fills_frame  # the maps are in the frame already: np.pad would only copy them
    for name in MAP_FIELDS:
        value = getattr(maps, name)
        if value is None:
            continue
        if name == "keypoints_body25":
            kp = np.array(value, dtype=np.float32, copy=True)
            seen = kp[:, 2] > 0
            kp[seen, 0] += box.x0
            kp[seen, 1] += box.y0
            value = kp
        elif fills:
            pass
        elif name == "densepose_uv":
            value = np.pad(value, ((0, 0), *pad))
        else:
            value = np.pad(value, pad)
        setattr(out, name, value)
    return out
