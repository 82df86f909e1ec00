"""The U-Net + self-attention generator and the spectral-norm PatchGAN discriminator.

Generator: the 41-channel person representation + garment RGB + garment mask (45 channels) in; a 7x7 stem
at `base` channels, three stride-2 downsamplings (base x 2, x 4, x 8: 64 -> 128 -> 256 -> 512 at full
width), `res_blocks` residual blocks with SAGAN self-attention in the middle of them, then pix2pix's U-Net
decoder: at each level the input is concatenated with the encoder's features at that resolution (the bottleneck's
input included) and a 4x4 stride-2 transposed conv (the encoder's 4x4 stride-2 convs mirrored) doubles the
resolution; instance norm throughout, tanh out. 54.1M parameters with the PatchGAN at base 64 (of which the
decoder 5.6M), 25.7M at base 32 with a 368-wide bottleneck (the CPU size).
Discriminator: pix2pix's 70x70 PatchGAN (4x4 convs, strides 2, 2, 2, 1, 1) with spectral norm, on the
(image, condition) pair; it returns every layer's features for the feature-matching loss.
"""

from __future__ import annotations

import torch
from torch import nn
from torch.nn.utils import spectral_norm

from components.train.families.representation import REPRESENTATION_CHANNELS
from components.train.families.size import widen_input

GENERATOR_IN = REPRESENTATION_CHANNELS + 3 + 1  # person representation, garment RGB, garment mask
CONDITION_CHANNELS = GENERATOR_IN


def _norm(ch: int) -> nn.Module:
    return nn.InstanceNorm2d(ch, affine=True)


class ResBlock(nn.Module):
    """Two 3x3 convs with instance norm and a residual connection (reflection padding, as pix2pixHD)."""

    def __init__(self, ch: int) -> None:
        super().__init__()
        self.body = nn.Sequential(
            nn.ReflectionPad2d(1), nn.Conv2d(ch, ch, 3), _norm(ch), nn.ReLU(True),
            nn.ReflectionPad2d(1), nn.Conv2d(ch, ch, 3), _norm(ch),
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x + self.body(x)


class SelfAttention(nn.Module):
    """SAGAN self-attention over all positions; gamma starts at 0 so it joins in as training finds it useful."""

    def __init__(self, ch: int) -> None:
        super().__init__()
        inner = max(ch // 8, 1)
        self.q, self.k, self.v = nn.Conv2d(ch, inner, 1), nn.Conv2d(ch, inner, 1), nn.Conv2d(ch, ch, 1)
        self.gamma = nn.Parameter(torch.zeros(1))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        b, c, h, w = x.shape
        q = self.q(x).flatten(2).transpose(1, 2)  # B x N x C'
        k = self.k(x).flatten(2)  # B x C' x N
        attn = torch.softmax(q @ k / (k.shape[1] ** 0.5), dim=-1)  # B x N x N
        v = self.v(x).flatten(2)  # B x C x N
        out = (v @ attn.transpose(1, 2)).view(b, c, h, w)
        return x + self.gamma * out


class UNetGenerator(nn.Module):
    """Encoder (base -> 2 base -> 4 base -> bottleneck), residual + attention bottleneck, skip decoder, tanh."""

    def __init__(self, in_ch: int = GENERATOR_IN, base: int = 64, bottleneck: int | None = None,
                 res_blocks: int = 9, attention: bool = True) -> None:
        super().__init__()
        self.size_channels = 0  # extra size-conditioning planes after the 45 (widen_for_size)
        widths = [base, base * 2, base * 4, bottleneck or base * 8]
        self.stem = nn.Sequential(nn.ReflectionPad2d(3), nn.Conv2d(in_ch, widths[0], 7), _norm(widths[0]),
                                  nn.ReLU(True))
        self.down = nn.ModuleList(
            nn.Sequential(nn.Conv2d(widths[i], widths[i + 1], 4, 2, 1), _norm(widths[i + 1]), nn.ReLU(True))
            for i in range(3)
        )
        mid = widths[-1]
        half = res_blocks // 2
        blocks: list[nn.Module] = [ResBlock(mid) for _ in range(half)]
        if attention:
            blocks.append(SelfAttention(mid))
        blocks += [ResBlock(mid) for _ in range(res_blocks - half)]
        self.bottleneck = nn.Sequential(*blocks)
        # Each decoder level takes its input concatenated with the encoder's features at the same resolution
        # (pix2pix's skips, the innermost one included) and doubles the resolution with a transposed conv.
        ins = [mid * 2, widths[2] * 2, widths[1] * 2]
        outs = [widths[2], widths[1], widths[0]]
        self.up = nn.ModuleList(
            nn.Sequential(nn.ConvTranspose2d(i, o, 4, 2, 1), _norm(o), nn.ReLU(True))
            for i, o in zip(ins, outs)
        )
        self.head = nn.Sequential(nn.Conv2d(widths[0] * 2, widths[0], 3, padding=1), _norm(widths[0]), nn.ReLU(True),
                                  nn.ReflectionPad2d(3), nn.Conv2d(widths[0], 3, 7), nn.Tanh())

    def widen_for_size(self, channels: int) -> "UNetGenerator":
        """Read `channels` more input planes (the size map and ratios) through zero weights: same outputs as now."""
        self.stem[1] = widen_input(self.stem[1], channels)
        self.size_channels += channels
        return self

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Bx(45 + size_channels)xHxW -> Bx3xHxW in [-1, 1] (H and W multiples of 8)."""
        skips = [self.stem(x)]
        for d in self.down:
            skips.append(d(skips[-1]))
        h = self.bottleneck(skips[-1])
        for j, up in enumerate(self.up):
            h = up(torch.cat([h, skips[3 - j]], dim=1))
        return self.head(torch.cat([h, skips[0]], dim=1))


class PatchDiscriminator(nn.Module):
    """Spectral-norm 70x70 PatchGAN on cat(image, condition); forward returns every layer's output."""

    def __init__(self, in_ch: int = 3 + CONDITION_CHANNELS, base: int = 64) -> None:
        super().__init__()
        w = [base, base * 2, base * 4, base * 8]
        act = lambda: nn.LeakyReLU(0.2, True)  # noqa: E731
        self.layers = nn.ModuleList([
            nn.Sequential(spectral_norm(nn.Conv2d(in_ch, w[0], 4, 2, 1)), act()),
            nn.Sequential(spectral_norm(nn.Conv2d(w[0], w[1], 4, 2, 1)), act()),
            nn.Sequential(spectral_norm(nn.Conv2d(w[1], w[2], 4, 2, 1)), act()),
            nn.Sequential(spectral_norm(nn.Conv2d(w[2], w[3], 4, 1, 1)), act()),
            spectral_norm(nn.Conv2d(w[3], 1, 4, 1, 1)),
        ])

    def forward(self, image: torch.Tensor, condition: torch.Tensor) -> list[torch.Tensor]:
        h = torch.cat([image, condition], dim=1)
        feats = []
        for layer in self.layers:
            h = layer(h)
            feats.append(h)
        return feats


def receptive_field(kernels_strides: list[tuple[int, int]]) -> int:
    """The receptive field of a conv stack (kernel, stride) pairs."""
    rf = 1
    for k, s in reversed(kernels_strides):
        rf = (rf - 1) * s + k
    return rf


def count_parameters(module: nn.Module) -> int:
    """Trainable parameters."""
    return sum(p.numel() for p in module.parameters() if p.requires_grad)
