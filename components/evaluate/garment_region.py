"""Where the garment is in a try-on image: colour match against the garment inside the agnostic mask.

The generated image and the ground truth go through the same extractor, so its bias cancels in IoU
and GFD. The method (documented in components/evaluate/README.md): the garment's own pixels (its
cloth mask, else every pixel that is not near-white background) are summarised by k colour centres in
CIELAB; a pixel of the image inside the agnostic mask is garment when it lies within `tolerance`
(Delta E 1976) of a centre; a morphological opening and closing removes speckle.
"""

from __future__ import annotations

import numpy as np
from PIL import Image
from scipy import ndimage
from skimage.color import rgb2lab


def garment_pixels(garment: Image.Image, cloth_mask: Image.Image | None = None) -> np.ndarray:
    """The garment's pixels as an Nx3 Lab array: those in its cloth mask, else the non-background ones."""
    lab = rgb2lab(np.asarray(garment.convert("RGB"), dtype=np.float64) / 255.0)
    if cloth_mask is not None:
        keep = np.asarray(cloth_mask.convert("L").resize(garment.size, Image.NEAREST)) > 127
    else:
        # Product shots sit on white: anything lighter than L*=95 with little chroma is background.
        chroma = np.hypot(lab[..., 1], lab[..., 2])
        keep = ~((lab[..., 0] > 95) & (chroma < 5))
    pixels = lab[keep]
    if len(pixels) == 0:
        pixels = lab.reshape(-1, 3)
    return pixels


def colour_centres(pixels: np.ndarray, k: int = 4, iterations: int = 10, seed: int = 0) -> np.ndarray:
    """k-means centres of `pixels` (Nx3), deterministic for a given seed; fewer when pixels are fewer."""
    rng = np.random.default_rng(seed)
    sample = pixels if len(pixels) <= 4096 else pixels[rng.choice(len(pixels), 4096, replace=False)]
    k = max(1, min(k, len(sample)))
    centres = sample[rng.choice(len(sample), k, replace=False)].copy()
    for _ in range(iterations):
        labels = np.argmin(((sample[:, None, :] - centres[None]) ** 2).sum(-1), axis=1)
        for j in range(k):
            members = sample[labels == j]
            if len(members):
                centres[j] = members.mean(0)
    return centres


def garment_region(
    image: Image.Image,
    agnostic_mask: Image.Image,
    centres: np.ndarray,
    tolerance: float = 20.0,
    smooth_px: int = 2,
) -> np.ndarray:
    """Boolean HxW mask of `image`'s pixels inside `agnostic_mask` whose colour is within `tolerance` of a centre."""
    lab = rgb2lab(np.asarray(image.convert("RGB"), dtype=np.float64) / 255.0)
    area = np.asarray(agnostic_mask.convert("L").resize(image.size, Image.NEAREST)) > 127
    dist = np.sqrt(((lab[..., None, :] - centres[None, None]) ** 2).sum(-1)).min(-1)
    region = area & (dist <= tolerance)
    if smooth_px > 0:
        structure = ndimage.generate_binary_structure(2, 1)
        region = ndimage.binary_opening(region, structure, iterations=smooth_px)
        region = ndimage.binary_closing(region, structure, iterations=smooth_px) & area
    return region
