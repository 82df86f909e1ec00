"""Full-body photographs of real people shipped in the openvto wheel, and real scenes composed from them."""

from __future__ import annotations

from importlib.resources import files

import numpy as np
import pytest
from PIL import Image


@pytest.fixture(scope="session")
def openvto_photos() -> dict[str, Image.Image]:
    """`studio_<n>` (avatars/<n>.png, plain backdrop) and `everyday_<n>` (people/<n>_posture.jpg) for n = 1..4."""
    assets = files("openvto") / "assets"
    out = {}
    for n in range(1, 5):
        with (assets / "avatars" / f"{n}.png").open("rb") as fh:
            out[f"studio_{n}"] = Image.open(fh).convert("RGB")
        with (assets / "people" / f"{n}_posture.jpg").open("rb") as fh:
            out[f"everyday_{n}"] = Image.open(fh).convert("RGB")
    return out


def person_cutout(image: Image.Image) -> Image.Image:
    """An L mask of the person in `image` (MediaPipe selfie segmentation at the photo's size)."""
    from components.annotate.annotators.selfie_segmentation import SelfieSegmentation

    seg = SelfieSegmentation()
    try:
        prob = seg.probability(np.ascontiguousarray(np.asarray(image)))
    finally:
        seg.close()
    return Image.fromarray(((prob > 0.5) * 255).astype(np.uint8))


def paste_person(scene: Image.Image, person: Image.Image, height_fraction: float, x: int, top_fraction: float
                 ) -> Image.Image:
    """`scene` with the person cut out of `person` pasted at `height_fraction` of its height, left edge `x`."""
    out = scene.copy()
    h = int(height_fraction * scene.height)
    small = person.resize((int(person.width * h / person.height), h), Image.Resampling.LANCZOS)
    out.paste(small, (x, int(top_fraction * scene.height)), person_cutout(person).resize(small.size))
    return out


def side_by_side(left: Image.Image, right: Image.Image, offset: int) -> Image.Image:
    """Two studio shots of one size: `right`'s person cut out and pasted `offset` px right of `left`'s."""
    canvas = left.resize((left.width + offset, left.height))  # the backdrop, stretched to the wider frame
    canvas.paste(left, (0, 0))
    canvas.paste(right, (offset, 0), person_cutout(right))
    return canvas
