"""Size conditioning shared by every family: the requested fit ratios in, an encoding and a spatial size map out.

The three ratios are components/fit's `FitRatios` (width, length, span: the garment as worn against the same
body). A model sees them two ways:

- the **size encoding**: log ratios (0 where a ratio is unknown), so "twice as wide" and "half as wide" are
  symmetric and an unknown ratio says nothing. CatVTON-Flux projects them to an offset of the pooled text
  embedding (components/train/adapters.py `SizeConditioner`); the baselines paint them inside the size map as
  extra input planes.
- the **size map**: the region the garment is expected to cover. On a training pair it is the worn region
  itself; at inference it is the person's own worn region rescaled by requested / own ratio (width
  horizontally, length vertically, about the region's top centre, where a garment hangs from), or the
  repainted region when the person's own garment region is unknown.

Every new weight that reads these inputs starts at zero, so switching size conditioning on starts a run from
exactly the size-blind model (tests/train/families/test_size.py checks it).
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import torch
from torch import nn

from components.fit.region import scale_region
from components.train.params import FIT_COLUMNS  # the manifest columns, in FitRatios order

N_RATIOS = len(FIT_COLUMNS)
SIZE_CHANNELS = 1 + N_RATIOS  # the baselines' extra input planes: the map, then each log ratio inside it
MIN_RATIO = 1e-3


def ratios_tensor(ratios: Sequence[Sequence[float] | None], n: int = N_RATIOS) -> torch.Tensor:
    """Bxn float32 ratios, NaN where a ratio (or a whole row) is unknown."""
    rows = [[math.nan] * n if r is None else [float("nan") if v is None else float(v) for v in r] for r in ratios]
    for r in rows:
        if len(r) != n:
            raise ValueError(f"expected {n} fit ratios (width, length, span), got {len(r)}")
    return torch.tensor(rows, dtype=torch.float32).reshape(len(rows), n)


def log_ratios(ratios: torch.Tensor) -> torch.Tensor:
    """log of each ratio, 0 where it is unknown (NaN, inf or not positive): an unknown ratio asks for nothing."""
    known = torch.isfinite(ratios) & (ratios > 0)
    return torch.where(known, torch.log(torch.where(known, ratios, 1.0).clamp_min(MIN_RATIO)), 0.0)


def scale_factors(own: torch.Tensor, requested: torch.Tensor) -> torch.Tensor:
    """Bx2 (horizontal, vertical) factors requested / own of width and length; 1 where either is unknown."""
    out = []
    for k in (0, 1):
        o, r = own[:, k], requested[:, k]
        ok = torch.isfinite(o) & torch.isfinite(r) & (o > 0) & (r > 0)
        out.append(torch.where(ok, r / torch.where(ok, o, 1.0), 1.0))
    return torch.stack(out, dim=1)


def scale_masks(masks: torch.Tensor, factors: torch.Tensor) -> torch.Tensor:
    """Bx1xHxW {0, 1} masks scaled by Bx2 (sx, sy) about each mask's top-centre (components/fit `scale_region`,
    the convention evaluate measures the expected region with); empty masks stay empty."""
    out = masks.clone()
    for i in range(masks.shape[0]):
        sx, sy = float(factors[i, 0]), float(factors[i, 1])
        if sx == 1.0 and sy == 1.0:
            continue
        scaled = scale_region(masks[i, 0].detach().cpu().numpy() > 0.5, sx, sy)
        out[i, 0] = torch.from_numpy(scaled).to(masks.device, masks.dtype)
    return out


def expected_region(worn: torch.Tensor, fallback: torch.Tensor, own: torch.Tensor,
                    requested: torch.Tensor | None) -> torch.Tensor:
    """The size map of a batch: each worn region (Bx1xHxW) rescaled by requested / own ratio.

    `requested` None (a training pair) is the worn region itself. A sample whose worn region is empty falls
    back to `fallback` (the repainted region) unscaled: with no garment to measure there is nothing to rescale.
    """
    worn = (worn > 0.5).float()
    empty = worn.sum(dim=(1, 2, 3), keepdim=True) == 0
    if requested is not None:
        worn = scale_masks(worn, scale_factors(own, requested))
    return torch.where(empty, (fallback > 0.5).float(), worn)


def request_size_map(batch: dict, size_ratios: list | None) -> tuple[torch.Tensor, torch.Tensor]:
    """(size map, requested ratios) of a collated batch asked for `size_ratios`: one (width, length, span) or None
    per row (None, or a None row: as worn, its own ratios and region). What every size-aware predictor feeds."""
    own = batch["fit_ratios"]
    rows = [None] * own.shape[0] if size_ratios is None else list(size_ratios)
    requested = ratios_tensor(rows).to(own.device)
    asked = torch.tensor([r is not None for r in rows], device=own.device)[:, None]
    requested = torch.where(asked, requested, own)
    size_map = expected_region(batch["worn_mask"].cpu(), batch["agnostic_mask"].cpu(), own.cpu(), requested.cpu())
    return size_map.to(batch["worn_mask"].device), requested


def size_planes(size_map: torch.Tensor, ratios: torch.Tensor) -> torch.Tensor:
    """The baselines' SIZE_CHANNELS extra input planes: the map, then each log ratio painted inside the map.

    Painted inside the map rather than as constant planes, so the instance norms after the first convolution
    cannot normalise them away.
    """
    logs = log_ratios(ratios.to(size_map.device, torch.float32))[:, :, None, None]
    return torch.cat([size_map, size_map * logs], dim=1)


def size_inputs(batch: dict) -> torch.Tensor:
    """The size planes of a collated batch: `size_map` / `size_ratios` when a request set them, else (training)
    the worn region and the pair's own worn ratios."""
    size_map = batch.get("size_map")
    if size_map is None:
        size_map = expected_region(batch["worn_mask"], batch["agnostic_mask"], batch["fit_ratios"], None)
    ratios = batch.get("size_ratios")
    return size_planes(size_map, batch["fit_ratios"] if ratios is None else ratios)


def widen_input(conv: nn.Conv2d, extra: int) -> nn.Conv2d:
    """A copy of `conv` reading `extra` more input channels (appended last) whose weights start at zero.

    The global RNG is left as it was, so the networks built after this one initialise as in a size-blind run.
    """
    with torch.random.fork_rng(devices=[]):
        wide = nn.Conv2d(conv.in_channels + extra, conv.out_channels, conv.kernel_size, conv.stride, conv.padding,
                         conv.dilation, conv.groups, conv.bias is not None, conv.padding_mode)
    with torch.no_grad():
        wide.weight.zero_()
        wide.weight[:, :conv.in_channels] = conv.weight
        if conv.bias is not None:
            wide.bias.copy_(conv.bias)
    return wide.to(conv.weight.device, conv.weight.dtype)
