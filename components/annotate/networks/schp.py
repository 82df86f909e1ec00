"""SCHP (Self-Correction Human Parsing, Li et al. 2020): the CE2P ResNet-101 parser in plain PyTorch.

Parameter names and shapes follow the official `networks/AugmentCE2P.py`, so the published checkpoints load
unchanged. Every normalisation layer of the official network is InPlaceABN(Sync) (mapillary/inplace_abn), the
backbone's with no activation, the heads' with LeakyReLU(0.01). Its parameters have a BatchNorm2d's names, but
not its maths: the scale is |weight| + eps, not weight (the in-place backward recovers its input by inverting
the affine map, which needs a positive scale). `InPlaceABN` below is that inference maths in plain PyTorch, in
ONE module per layer so the Sequential indices (hence key names) stay the original's.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from components.annotate.networks.checkpoint import build_for_loading, load_checked, require_file


@dataclass(frozen=True)
class SchpDataset:
    """One published SCHP model: its label list and the square input size it was trained at."""

    name: str
    input_size: tuple[int, int]  # (height, width)
    labels: tuple[str, ...]

    @property
    def num_classes(self) -> int:
        """Number of output classes (background included)."""
        return len(self.labels)


# The label lists and input sizes published with the checkpoints (README / simple_extractor settings).
LIP = SchpDataset(
    "lip",
    (473, 473),
    ("Background", "Hat", "Hair", "Glove", "Sunglasses", "Upper-clothes", "Dress", "Coat", "Socks", "Pants",
     "Jumpsuits", "Scarf", "Skirt", "Face", "Left-arm", "Right-arm", "Left-leg", "Right-leg", "Left-shoe",
     "Right-shoe"),
)
ATR = SchpDataset(
    "atr",
    (512, 512),
    ("Background", "Hat", "Hair", "Sunglasses", "Upper-clothes", "Skirt", "Pants", "Dress", "Belt", "Left-shoe",
     "Right-shoe", "Face", "Left-leg", "Right-leg", "Left-arm", "Right-arm", "Bag", "Scarf"),
)
PASCAL = SchpDataset(
    "pascal",
    (512, 512),
    ("Background", "Head", "Torso", "Upper Arms", "Lower Arms", "Upper Legs", "Lower Legs"),
)
DATASETS: dict[str, SchpDataset] = {d.name: d for d in (LIP, ATR, PASCAL)}

# Published normalisation: the network sees BGR in [0, 1], normalised with ImageNet statistics in BGR order.
MEAN_BGR = (0.406, 0.456, 0.485)
STD_BGR = (0.225, 0.224, 0.229)


ABN_EPS = 1e-5  # InPlaceABN's default eps, used both under the square root and added to |weight|
LEAKY_SLOPE = 0.01


def inplace_abn_inference(x: torch.Tensor, running_mean: torch.Tensor, running_var: torch.Tensor,
                          weight: torch.Tensor, bias: torch.Tensor, eps: float = ABN_EPS,
                          slope: float | None = LEAKY_SLOPE) -> torch.Tensor:
    """InPlaceABN's inference forward: (x - mean) / sqrt(var + eps) * (|weight| + eps) + bias, then LeakyReLU.

    `slope=None` is InPlaceABN's activation='none' (the official backbone's BatchNorm2d).
    """
    shape = (1, -1) + (1,) * (x.dim() - 2)
    scale = torch.rsqrt(running_var + eps) * (weight.abs() + eps)
    y = (x - running_mean.reshape(shape)) * scale.reshape(shape) + bias.reshape(shape)
    return y if slope is None else F.leaky_relu(y, negative_slope=slope)


class InPlaceABN(nn.Module):
    """One InPlaceABN layer at inference (running statistics): the official checkpoints' names and maths.

    Only inference is implemented: the project never trains SCHP, and training mode would need the batch
    statistics and InPlaceABN's own backward.
    """

    def __init__(self, num_features: int, slope: float | None = LEAKY_SLOPE, eps: float = ABN_EPS):
        super().__init__()
        self.num_features, self.slope, self.eps = num_features, slope, eps
        self.weight = nn.Parameter(torch.ones(num_features))
        self.bias = nn.Parameter(torch.zeros(num_features))
        self.register_buffer("running_mean", torch.zeros(num_features))
        self.register_buffer("running_var", torch.ones(num_features))

    def forward(self, x: torch.Tensor) -> torch.Tensor:  # noqa: D102 - see class docstring
        return inplace_abn_inference(x, self.running_mean, self.running_var, self.weight, self.bias,
                                     self.eps, self.slope)


def _conv(cin: int, cout: int, k: int = 1, stride: int = 1, dilation: int = 1, bias: bool = False) -> nn.Conv2d:
    return nn.Conv2d(cin, cout, k, stride=stride, padding=dilation * (k // 2), dilation=dilation, bias=bias)


def _conv_abn(cin: int, cout: int, k: int = 1) -> nn.Sequential:
    return nn.Sequential(_conv(cin, cout, k), InPlaceABN(cout))


class Bottleneck(nn.Module):
    """ResNet bottleneck (stride on the 3x3 conv, optional dilation), names as in torchvision/CE2P."""

    expansion = 4

    def __init__(self, cin: int, planes: int, stride: int = 1, dilation: int = 1, downsample: nn.Module | None = None):
        super().__init__()
        self.conv1 = _conv(cin, planes, 1)
        self.bn1 = InPlaceABN(planes, slope=None)
        self.conv2 = _conv(planes, planes, 3, stride=stride, dilation=dilation)
        self.bn2 = InPlaceABN(planes, slope=None)
        self.conv3 = _conv(planes, planes * 4, 1)
        self.bn3 = InPlaceABN(planes * 4, slope=None)
        self.downsample = downsample

    def forward(self, x: torch.Tensor) -> torch.Tensor:  # noqa: D102
        y = F.relu(self.bn1(self.conv1(x)))
        y = F.relu(self.bn2(self.conv2(y)))
        y = self.bn3(self.conv3(y))
        skip = x if self.downsample is None else self.downsample(x)
        return F.relu(y + skip)


def _res_layer(cin: int, planes: int, blocks: int, stride: int = 1, dilation: int = 1) -> nn.Sequential:
    cout = planes * Bottleneck.expansion
    down = None
    if stride != 1 or cin != cout:
        down = nn.Sequential(_conv(cin, cout, 1, stride=stride), InPlaceABN(cout, slope=None))
    layers = [Bottleneck(cin, planes, stride, dilation, down)]
    layers += [Bottleneck(cout, planes, 1, dilation) for _ in range(blocks - 1)]
    return nn.Sequential(*layers)


def _up(x: torch.Tensor, size: tuple[int, int]) -> torch.Tensor:
    # CE2P resizes features with align_corners=True everywhere; keeping it keeps the outputs identical.
    return F.interpolate(x, size=size, mode="bilinear", align_corners=True)


class PyramidPooling(nn.Module):
    """PSP context module: pooled context at 1/2/3/6 bins, concatenated with the features, fused by a 3x3 conv."""

    def __init__(self, cin: int = 2048, cout: int = 512, bins: tuple[int, ...] = (1, 2, 3, 6)):
        super().__init__()
        self.stages = nn.ModuleList(
            nn.Sequential(nn.AdaptiveAvgPool2d(b), _conv(cin, cout, 1), InPlaceABN(cout)) for b in bins
        )
        self.bottleneck = nn.Sequential(_conv(cin + len(bins) * cout, cout, 3), InPlaceABN(cout))

    def forward(self, x: torch.Tensor) -> torch.Tensor:  # noqa: D102
        size = x.shape[-2:]
        pooled = [_up(stage(x), size) for stage in self.stages]
        return self.bottleneck(torch.cat(pooled + [x], dim=1))


class EdgeBranch(nn.Module):
    """Edge branch: a shared 3x3 edge classifier on three backbone levels, fused by a 1x1 conv."""

    def __init__(self, cins: tuple[int, int, int] = (256, 512, 1024), mid: int = 256, cout: int = 2):
        super().__init__()
        self.conv1 = _conv_abn(cins[0], mid)
        self.conv2 = _conv_abn(cins[1], mid)
        self.conv3 = _conv_abn(cins[2], mid)
        self.conv4 = _conv(mid, cout, 3, bias=True)
        self.conv5 = _conv(cout * 3, cout, 1, bias=True)

    def forward(self, x1, x2, x3) -> tuple[torch.Tensor, torch.Tensor]:  # noqa: D102
        size = x1.shape[-2:]
        f1, f2, f3 = self.conv1(x1), self.conv2(x2), self.conv3(x3)
        # The shared edge classifier runs at each level's own resolution, then everything is resized to level 1.
        edges = [self.conv4(f1), _up(self.conv4(f2), size), _up(self.conv4(f3), size)]
        return self.conv5(torch.cat(edges, 1)), torch.cat([f1, _up(f2, size), _up(f3, size)], 1)


class ParsingDecoder(nn.Module):
    """Parsing decoder: context features upsampled onto low-level (layer1) features, then a 1x1 classifier."""

    def __init__(self, num_classes: int):
        super().__init__()
        self.conv1 = _conv_abn(512, 256)
        self.conv2 = _conv_abn(256, 48)
        self.conv3 = nn.Sequential(_conv(304, 256), InPlaceABN(256), _conv(256, 256), InPlaceABN(256))
        self.conv4 = _conv(256, num_classes, 1, bias=True)

    def forward(self, context: torch.Tensor, low: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:  # noqa: D102
        x = torch.cat([_up(self.conv1(context), low.shape[-2:]), self.conv2(low)], 1)
        x = self.conv3(x)
        return self.conv4(x), x


class SCHPNet(nn.Module):
    """CE2P/SCHP parser: deep-stem ResNet-101 (dilated last stage), PSP, edge branch, decoder, fusion head."""

    def __init__(self, num_classes: int, layers: tuple[int, int, int, int] = (3, 4, 23, 3)):
        super().__init__()
        self.num_classes = num_classes
        self.conv1 = _conv(3, 64, 3, stride=2)
        self.bn1 = InPlaceABN(64, slope=None)
        self.conv2 = _conv(64, 64, 3)
        self.bn2 = InPlaceABN(64, slope=None)
        self.conv3 = _conv(64, 128, 3)
        self.bn3 = InPlaceABN(128, slope=None)
        self.layer1 = _res_layer(128, 64, layers[0])
        self.layer2 = _res_layer(256, 128, layers[1], stride=2)
        self.layer3 = _res_layer(512, 256, layers[2], stride=2)
        self.layer4 = _res_layer(1024, 512, layers[3], stride=1, dilation=2)
        self.context_encoding = PyramidPooling(2048, 512)
        self.edge = EdgeBranch()
        self.decoder = ParsingDecoder(num_classes)
        # "fushion" is the official (misspelt) name; the checkpoint keys depend on it.
        self.fushion = nn.Sequential(
            _conv(1024, 256), InPlaceABN(256), nn.Dropout2d(0.1), _conv(256, num_classes, 1, bias=True)
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Fusion logits at 1/4 of the input resolution, shape (N, num_classes, H/4, W/4)."""
        x = F.relu(self.bn1(self.conv1(x)))
        x = F.relu(self.bn2(self.conv2(x)))
        x = F.relu(self.bn3(self.conv3(x)))
        x = F.max_pool2d(x, 3, stride=2, padding=1)
        c2 = self.layer1(x)
        c3 = self.layer2(c2)
        c4 = self.layer3(c3)
        c5 = self.layer4(c4)
        _, parse_feat = self.decoder(self.context_encoding(c5), c2)
        _, edge_feat = self.edge(c2, c3, c4)
        return self.fushion(torch.cat([parse_feat, edge_feat], 1))


def official_state_dict(state: dict) -> dict[str, torch.Tensor]:
    """The network's weights from an official SCHP checkpoint: unwrap `state_dict`, strip DataParallel `module.`."""
    if "state_dict" in state and isinstance(state["state_dict"], dict):
        state = state["state_dict"]
    return {(k[len("module."):] if k.startswith("module.") else k): v for k, v in state.items()}


def load_schp(path: str | Path, dataset: str | SchpDataset, device: str | torch.device = "cpu") -> SCHPNet:
    """Build SCHPNet for `dataset` (lip/atr/pascal) and load an official `.pth` checkpoint with strict key checks."""
    ds = DATASETS[dataset] if isinstance(dataset, str) else dataset
    path = require_file(path, f"SCHP {ds.name}")
    raw = torch.load(path, map_location="cpu", weights_only=True)
    model = build_for_loading(lambda: SCHPNet(ds.num_classes))
    return load_checked(model, official_state_dict(raw), path).to(device)


# ---------------------------------------------------------------------------------------------------------------
# Official preprocessing and postprocessing (SCHP's simple extractor): whole image as the person box, aspect kept,
# affine-warped into the network input; logits upsampled to the input size and warped back to the image.


def person_affine(height: int, width: int, input_size: tuple[int, int]) -> np.ndarray:
    """2x3 affine taking image pixels into the network input: the full-image box, centred, aspect preserved."""
    in_h, in_w = input_size
    aspect = in_w / in_h
    # The published code takes the box (0, 0, w-1, h-1) and widens its short side to the input aspect ratio.
    box_w, box_h = float(width - 1), float(height - 1)
    cx, cy = box_w * 0.5, box_h * 0.5
    if box_w > aspect * box_h:
        box_h = box_w / aspect
    elif box_w < aspect * box_h:
        box_w = box_h * aspect
    s = (in_w - 1) / box_w if box_w > 0 else 1.0
    return np.array([[s, 0.0, (in_w - 1) * 0.5 - s * cx], [0.0, s, (in_h - 1) * 0.5 - s * cy]], dtype=np.float64)


def invert_affine(m: np.ndarray) -> np.ndarray:
    """Inverse of a 2x3 affine map."""
    return cv2.invertAffineTransform(m)


def preprocess(image_rgb: np.ndarray, input_size: tuple[int, int]) -> tuple[np.ndarray, np.ndarray]:
    """(network input CHW float32, the affine used): BGR, warped (bilinear, black border), /255, mean/std."""
    m = person_affine(image_rgb.shape[0], image_rgb.shape[1], input_size)
    bgr = np.ascontiguousarray(image_rgb[:, :, ::-1])
    warped = cv2.warpAffine(bgr, m, (input_size[1], input_size[0]), flags=cv2.INTER_LINEAR,
                            borderMode=cv2.BORDER_CONSTANT, borderValue=(0, 0, 0))
    x = (warped.astype(np.float32) / 255.0 - np.array(MEAN_BGR, np.float32)) / np.array(STD_BGR, np.float32)
    return np.ascontiguousarray(x.transpose(2, 0, 1)), m


def logits_to_image(logits: np.ndarray, m: np.ndarray, height: int, width: int) -> np.ndarray:
    """Input-frame logits (C, in_h, in_w) warped back into the image frame, (C, height, width)."""
    inv = invert_affine(m)
    return np.stack([
        cv2.warpAffine(np.ascontiguousarray(ch), inv, (width, height), flags=cv2.INTER_LINEAR,
                       borderMode=cv2.BORDER_CONSTANT, borderValue=0)
        for ch in logits
    ])


@torch.no_grad()
def parse_images(model: SCHPNet, images_rgb: list[np.ndarray], input_size: tuple[int, int],
                 dtype: torch.dtype = torch.float32) -> list[np.ndarray]:
    """Label maps (uint8 HxW, the model's label ids) for RGB images, run as one batch on the model's device."""
    device = next(model.parameters()).device
    prepared = [preprocess(img, input_size) for img in images_rgb]
    batch = torch.from_numpy(np.stack([x for x, _ in prepared])).to(device=device, dtype=dtype)
    logits = model(batch)
    logits = F.interpolate(logits.float(), size=input_size, mode="bilinear", align_corners=True).cpu().numpy()
    out = []
    for img, (_, m), lg in zip(images_rgb, prepared, logits):
        back = logits_to_image(lg, m, img.shape[0], img.shape[1])
        out.append(back.argmax(0).astype(np.uint8))
    return out


def palette(num_classes: int) -> list[int]:
    """The PASCAL-style colour palette SCHP saves its PNGs with (label bits spread over R, G, B high bits)."""
    pal = [0] * (num_classes * 3)
    for label in range(num_classes):
        value, bit = label, 7
        while value:
            for channel in range(3):
                pal[label * 3 + channel] |= ((value >> channel) & 1) << bit
            value >>= 3
            bit -= 1
    return pal


def save_palette_png(labels: np.ndarray, num_classes: int, path: str | Path) -> Path:
    """Write a label map as a palette ('P' mode) PNG, as SCHP's extractor does."""
    from PIL import Image

    img = Image.fromarray(np.asarray(labels, dtype=np.uint8), mode="P")
    img.putpalette(palette(num_classes))
    img.save(path)
    return Path(path)
