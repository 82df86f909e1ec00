"""Thin-plate-spline warps on a regular grid of control points: the maths of the GMM's geometric transform.

A warp is given by where each control point of a fixed `g x g` lattice (normalised coordinates in [-1, 1]) lands in
the garment image. The TPS interpolating those correspondences gives, for every output pixel, the garment
location to sample; `grid_sample` then produces the warped garment. The lattice's own positions (zero offsets)
give the identity warp, because a TPS reproduces affine maps exactly.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F


def control_points(grid_size: int, dtype: torch.dtype = torch.float64) -> torch.Tensor:
    """The `grid_size**2` lattice points as (N, 2) rows of (x, y) in [-1, 1], x fastest."""
    axis = torch.linspace(-1.0, 1.0, grid_size, dtype=dtype)
    y, x = torch.meshgrid(axis, axis, indexing="ij")
    return torch.stack([x.reshape(-1), y.reshape(-1)], dim=1)


def pixel_grid(height: int, width: int, dtype: torch.dtype = torch.float64) -> torch.Tensor:
    """Normalised (x, y) of every pixel centre for `align_corners=True`, as (H*W, 2), x fastest."""
    y, x = torch.meshgrid(torch.linspace(-1.0, 1.0, height, dtype=dtype),
                          torch.linspace(-1.0, 1.0, width, dtype=dtype), indexing="ij")
    return torch.stack([x.reshape(-1), y.reshape(-1)], dim=1)


def _radial(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    """The TPS kernel U(r) = r^2 log r^2 between every row of `a` and every row of `b` (U(0) = 0)."""
    r2 = torch.cdist(a, b).pow(2)
    return torch.where(r2 > 0, r2 * torch.log(r2.clamp_min(1e-30)), torch.zeros_like(r2))


def tps_basis(height: int, width: int, grid_size: int) -> torch.Tensor:
    """The (H*W, N) matrix M with `M @ targets` = the sampling grid of the TPS through the lattice -> targets.

    Solving the TPS system is linear in the targets, so the whole solve folds into one matrix, computed once in
    float64 (the identity then holds to float32 rounding).
    """
    ctrl = control_points(grid_size)
    n = ctrl.shape[0]
    ones = torch.ones(n, 1, dtype=ctrl.dtype)
    affine = torch.cat([ones, ctrl], dim=1)  # (N, 3)
    system = torch.zeros(n + 3, n + 3, dtype=ctrl.dtype)
    system[:n, :n] = _radial(ctrl, ctrl)
    system[:n, n:] = affine
    system[n:, :n] = affine.T
    inverse = torch.linalg.inv(system)[:, :n]  # only the target rows of the right-hand side are non-zero
    pix = pixel_grid(height, width)
    basis = torch.cat([_radial(pix, ctrl), torch.ones(pix.shape[0], 1, dtype=pix.dtype), pix], dim=1)
    return basis @ inverse


class TpsWarp(torch.nn.Module):
    """Turns control-point offsets (B, N, 2) into a sampling grid and warps images with it."""

    def __init__(self, height: int, width: int, grid_size: int = 5) -> None:
        super().__init__()
        self.height, self.width, self.grid_size = height, width, grid_size
        basis = tps_basis(height, width, grid_size)
        self.register_buffer("basis", basis.float(), persistent=False)
        # The identity grid in float64 first, so zero offsets give the pixel grid to float32 rounding.
        self.register_buffer("identity", (basis @ control_points(grid_size)).float(), persistent=False)

    def grid(self, offsets: torch.Tensor) -> torch.Tensor:
        """The (B, H, W, 2) sampling grid for `grid_sample` of the TPS through lattice -> lattice + offsets."""
        grid = self.identity + torch.matmul(self.basis, offsets)
        return grid.view(offsets.shape[0], self.height, self.width, 2)

    def forward(self, image: torch.Tensor, offsets: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """`image` (B, C, H, W) warped by `offsets`; also returns the grid (for smoothness terms and pictures)."""
        grid = self.grid(offsets)
        warped = F.grid_sample(image, grid, mode="bilinear", padding_mode="border", align_corners=True)
        return warped, grid


def second_order_smoothness(offsets: torch.Tensor, grid_size: int) -> torch.Tensor:
    """Mean |second difference| of the warped lattice along rows and columns: zero for any affine warp."""
    pts = offsets.view(offsets.shape[0], grid_size, grid_size, 2)
    dx = pts[:, :, 2:] - 2 * pts[:, :, 1:-1] + pts[:, :, :-2]
    dy = pts[:, 2:] - 2 * pts[:, 1:-1] + pts[:, :-2]
    return dx.abs().mean() + dy.abs().mean()
