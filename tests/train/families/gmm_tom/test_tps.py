"""TPS warps: the zero-offset grid is the identity, affine lattices are smooth, offsets move the garment."""

from __future__ import annotations

import numpy as np
import torch
from PIL import Image

from components.train.families.gmm_tom.tps import TpsWarp, control_points, second_order_smoothness


def _photo(real_photos, size=(48, 64)) -> torch.Tensor:
    arr = np.asarray(real_photos["astronaut"].resize(size, Image.BICUBIC), dtype=np.float32) / 255.0
    return torch.from_numpy(arr).permute(2, 0, 1).unsqueeze(0)


def test_zero_offsets_warp_an_image_to_itself(real_photos):
    image = _photo(real_photos)
    warp = TpsWarp(64, 48, grid_size=5)
    warped, grid = warp(image, torch.zeros(1, 25, 2))
    assert warped.shape == image.shape
    assert torch.allclose(warped, image, atol=1e-5), float((warped - image).abs().max())


def test_tps_passes_through_its_targets_at_the_control_points():
    # A 5x5 lattice on a 17x17 grid puts a pixel centre on every control point (spacing 4 pixels).
    warp = TpsWarp(17, 17, grid_size=5)
    offsets = torch.randn(1, 25, 2, generator=torch.Generator().manual_seed(0)) * 0.1
    grid = warp.grid(offsets)[0]
    lattice = control_points(5).float()
    at_ctrl = grid[::4, ::4].reshape(-1, 2)
    assert torch.allclose(at_ctrl, lattice + offsets[0], atol=1e-4)


def test_a_uniform_shift_moves_the_image_and_costs_no_smoothness(real_photos):
    image = _photo(real_photos)
    warp = TpsWarp(64, 48, grid_size=5)
    # Sample one pixel step (2 / (W - 1)) to the right everywhere: the output is the image shifted left by one.
    step = 2.0 / (48 - 1)
    offsets = torch.zeros(1, 25, 2)
    offsets[..., 0] = step
    warped, _ = warp(image, offsets)
    assert torch.allclose(warped[..., :-1], image[..., 1:], atol=1e-4)
    assert float(second_order_smoothness(offsets, 5)) < 1e-7
    bumpy = offsets.clone()
    bumpy[0, 12] += 0.2  # the centre control point alone
    assert float(second_order_smoothness(bumpy, 5)) > 1e-3
