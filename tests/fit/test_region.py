"""components/fit/region.py: rescaling a worn region about where the garment hangs from (shared by evaluate and
train), and train's batched torch form computing exactly the same masks."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from components.fit.region import scale_region


def test_scaling_keeps_the_top_centre_and_scales_the_box():
    m = np.zeros((100, 100), bool)
    m[10:30, 40:60] = True  # 20 x 20, top-centre at (10, 49.5)
    scaled = scale_region(m, 1.5, 2.0)
    ys, xs = np.nonzero(scaled)
    assert ys.min() == 10
    assert ys.max() - ys.min() + 1 == pytest.approx(40, abs=1)
    assert xs.max() - xs.min() + 1 == pytest.approx(30, abs=1)
    assert (xs.min() + xs.max()) / 2 == pytest.approx(49.5, abs=0.5)


def test_the_size_maps_of_a_batch_are_the_core_scaled_regions():
    from components.train.families.size import scale_masks

    m = np.zeros((40, 30), bool)
    m[5:25, 8:20] = True
    masks = torch.from_numpy(np.stack([m, m, np.zeros_like(m)]).astype(np.float32))[:, None]
    factors = torch.tensor([[1.3, 0.9], [1.0, 1.0], [2.0, 2.0]])
    out = scale_masks(masks, factors)
    assert np.array_equal(out[0, 0].numpy() > 0.5, scale_region(m, 1.3, 0.9))
    assert torch.equal(out[1], masks[1]) and out[2].abs().max() == 0
