"""The GMM + TOM networks (VITON-HD / CP-VTON style): feature extractors, correlation, TPS regression, U-Net.

Pure torch modules with no I/O. Tensors are NCHW, images in [-1, 1], masks in [0, 1].
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from components.train.families.gmm_tom.tps import TpsWarp


def _down(cin: int, cout: int) -> nn.Sequential:
    return nn.Sequential(nn.Conv2d(cin, cout, 4, stride=2, padding=1), nn.InstanceNorm2d(cout, affine=True),
                         nn.LeakyReLU(0.2, inplace=True))


class FeatureExtractor(nn.Module):
    """`levels` stride-2 conv blocks then two 3x3 convs: an (B, C, H/2^levels, W/2^levels) feature map."""

    def __init__(self, in_channels: int, width: int, levels: int = 4) -> None:
        super().__init__()
        layers, c = [], in_channels
        for i in range(levels):
            out = width * min(2 ** i, 8)
            layers.append(_down(c, out))
            c = out
        layers += [nn.Conv2d(c, c, 3, padding=1), nn.InstanceNorm2d(c, affine=True), nn.ReLU(inplace=True),
                   nn.Conv2d(c, c, 3, padding=1)]
        self.body = nn.Sequential(*layers)
        self.out_channels = c

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Features of `x`."""
        return self.body(x)


def l2_normalise(features: torch.Tensor, eps: float = 1e-6) -> torch.Tensor:
    """Each spatial position's feature vector scaled to unit length (correlations become cosines)."""
    return features / features.pow(2).sum(dim=1, keepdim=True).add(eps).sqrt()


def correlation(garment: torch.Tensor, person: torch.Tensor) -> torch.Tensor:
    """Dense correlation: out[b, k, i, j] = <garment[b, :, k // w, k % w], person[b, :, i, j]>.

    Both inputs are (B, C, h, w); the result is (B, h*w, h, w): for every person position, its similarity to
    every garment position (row-major index k).
    """
    b, c, h, w = garment.shape
    if person.shape != garment.shape:
        raise ValueError(f"correlation: feature maps differ in shape, {tuple(garment.shape)} vs {tuple(person.shape)}")
    g = garment.reshape(b, c, h * w)
    p = person.reshape(b, c, h * w)
    return torch.bmm(g.transpose(1, 2), p).view(b, h * w, h, w)


class TpsRegressor(nn.Module):
    """From the correlation volume to `grid_size**2` control-point offsets (small initial warps)."""

    def __init__(self, in_channels: int, width: int, feature_hw: tuple[int, int], grid_size: int) -> None:
        super().__init__()
        c = width * 4
        self.convs = nn.Sequential(
            nn.Conv2d(in_channels, c, 3, padding=1), nn.InstanceNorm2d(c, affine=True), nn.ReLU(inplace=True),
            nn.Conv2d(c, c // 2, 3, padding=1), nn.InstanceNorm2d(c // 2, affine=True), nn.ReLU(inplace=True),
        )
        self.pool = nn.AdaptiveAvgPool2d(feature_hw)
        self.linear = nn.Linear(c // 2 * feature_hw[0] * feature_hw[1], 2 * grid_size * grid_size)
        # Near-identity start: the first warps are the garment itself, and every layer still gets a gradient.
        nn.init.normal_(self.linear.weight, std=1e-3)
        nn.init.zeros_(self.linear.bias)
        self.grid_size = grid_size

    def forward(self, corr: torch.Tensor) -> torch.Tensor:
        """(B, N, 2) offsets in normalised coordinates."""
        x = self.pool(self.convs(corr)).flatten(1)
        return self.linear(x).view(-1, self.grid_size * self.grid_size, 2)


class GMM(nn.Module):
    """Geometric matching: person representation + garment -> TPS offsets, warped garment and warped mask."""

    def __init__(self, person_channels: int, garment_channels: int, height: int, width: int, base_width: int,
                 grid_size: int = 5, levels: int = 4) -> None:
        super().__init__()
        if height % 2 ** levels or width % 2 ** levels:
            raise ValueError(f"GMM: resolution {width}x{height} must be a multiple of {2 ** levels} in both sides")
        self.person_features = FeatureExtractor(person_channels, base_width, levels)
        self.garment_features = FeatureExtractor(garment_channels, base_width, levels)
        fh, fw = height // 2 ** levels, width // 2 ** levels
        self.regressor = TpsRegressor(fh * fw, base_width, (fh, fw), grid_size)
        self.warp = TpsWarp(height, width, grid_size)
        self.grid_size = grid_size

    def forward(self, person_repr: torch.Tensor, garment: torch.Tensor, cloth_mask: torch.Tensor) -> dict:
        """Offsets (B, N, 2), grid (B, H, W, 2), warped garment (B, 3, H, W) and warped mask (B, 1, H, W)."""
        fp = l2_normalise(self.person_features(person_repr))
        fg = l2_normalise(self.garment_features(torch.cat([garment, cloth_mask], dim=1)))
        corr = l2_normalise(F.relu(correlation(fg, fp)))
        offsets = self.regressor(corr)
        grid = self.warp.grid(offsets)
        warped = F.grid_sample(garment, grid, mode="bilinear", padding_mode="border", align_corners=True)
        warped_mask = F.grid_sample(cloth_mask, grid, mode="bilinear", padding_mode="zeros", align_corners=True)
        return {"offsets": offsets, "grid": grid, "warped": warped, "warped_mask": warped_mask}


class UNet(nn.Module):
    """An encoder-decoder with skip connections at every level (TOM's renderer)."""

    def __init__(self, in_channels: int, out_channels: int, base_width: int, levels: int = 4) -> None:
        super().__init__()
        widths = [base_width * min(2 ** i, 8) for i in range(levels + 1)]
        self.stem = nn.Sequential(nn.Conv2d(in_channels, widths[0], 3, padding=1), nn.LeakyReLU(0.2, inplace=True))
        self.downs = nn.ModuleList(_down(widths[i], widths[i + 1]) for i in range(levels))
        self.bottleneck = nn.Sequential(nn.Conv2d(widths[-1], widths[-1], 3, padding=1), nn.ReLU(inplace=True))
        self.ups = nn.ModuleList(
            nn.Sequential(nn.Conv2d(widths[i + 1] * 2, widths[i], 3, padding=1),
                          nn.InstanceNorm2d(widths[i], affine=True), nn.ReLU(inplace=True))
            for i in reversed(range(levels))
        )
        self.head = nn.Conv2d(widths[0] * 2, out_channels, 3, padding=1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Output of the same spatial size as `x`."""
        skips = [self.stem(x)]
        for down in self.downs:
            skips.append(down(skips[-1]))
        y = self.bottleneck(skips[-1])
        for up, skip in zip(self.ups, reversed(skips[1:])):
            y = up(torch.cat([y, skip], dim=1))
            y = F.interpolate(y, scale_factor=2, mode="nearest")
        return self.head(torch.cat([y, skips[0]], dim=1))


class TOM(nn.Module):
    """Try-on module: renders the person and a composition mask that blends in the warped garment."""

    def __init__(self, person_channels: int, base_width: int, levels: int = 4) -> None:
        super().__init__()
        self.unet = UNet(person_channels + 3 + 1, 4, base_width, levels)

    def forward(self, person_repr: torch.Tensor, warped: torch.Tensor, warped_mask: torch.Tensor,
                extra: torch.Tensor | None = None) -> dict:
        """Rendered person, composition mask (B, 1, H, W) and the composite `result` (B, 3, H, W) in [-1, 1].

        `extra` (size conditioning's planes) is read last, where a widened stem has its new input channels."""
        parts = [person_repr, warped, warped_mask] + ([extra] if extra is not None else [])
        out = self.unet(torch.cat(parts, dim=1))
        rendered = torch.tanh(out[:, :3])
        composition = torch.sigmoid(out[:, 3:4])
        result = composition * warped + (1 - composition) * rendered
        return {"rendered": rendered, "composition": composition, "result": result}


class PatchDiscriminator(nn.Module):
    """A small PatchGAN critic on (condition, image) pairs, for the optional adversarial term."""

    def __init__(self, in_channels: int, base_width: int, levels: int = 3) -> None:
        super().__init__()
        layers, c = [], in_channels
        for i in range(levels):
            out = base_width * min(2 ** i, 8)
            layers.append(_down(c, out))
            c = out
        layers.append(nn.Conv2d(c, 1, 3, padding=1))
        self.body = nn.Sequential(*layers)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Per-patch realness logits."""
        return self.body(x)
