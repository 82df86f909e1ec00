"""VGG19 perceptual and Gram-matrix style losses, on torchvision's ImageNet VGG19 from the model store.

The weights are torchvision's `vgg19-dcbb9e9d.pth` (catalog entry `vgg19-dcbb9e9d`). Without them the
perceptual and style terms are off and `load_perceptual` says why: a randomly initialised VGG measures
nothing perceptual, so it is never used in its place. The feature stack is rebuilt from the state dict's
own shapes (torchvision's key format, `features.<index>.weight`), so a tiny-width file in that format
loads the same way in tests.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import torch
from torch import nn

# The names live beside the params (no torch import there: loading params.yaml must not import torch).
from components.train.families.perceptual_params import (  # noqa: F401 - re-exported
    DEFAULT_LAYERS,
    LAYER_NAMES,
    VGG19_CFG,
    VGG19_WEIGHTS,
)

IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)


def relu_indices() -> dict[str, int]:
    """LAYER_NAMES -> index of that ReLU in torchvision's vgg19().features."""
    out, idx, block, conv = {}, 0, 1, 1
    for v in VGG19_CFG:
        if v == "M":
            idx += 1
            block, conv = block + 1, 1
        else:
            out[f"relu{block}_{conv}"] = idx + 1
            idx += 2
            conv += 1
    return out


def build_features(state: dict[str, torch.Tensor], upto: int) -> nn.Sequential:
    """vgg19().features[: upto + 1] with widths read from `state` (features.<i>.weight), weights loaded."""
    layers: list[nn.Module] = []
    idx, in_ch = 0, 3
    for v in VGG19_CFG:
        if idx > upto:
            break
        if v == "M":
            layers.append(nn.MaxPool2d(2, 2))
            idx += 1
            continue
        key = f"features.{idx}.weight"
        if key not in state:
            raise ValueError(f"VGG19 state dict lacks {key!r}: not torchvision's vgg19 format")
        out_ch = state[key].shape[0]
        layers += [nn.Conv2d(in_ch, out_ch, 3, padding=1), nn.ReLU(inplace=False)]
        idx, in_ch = idx + 2, out_ch
    features = nn.Sequential(*layers[: upto + 1])
    own = {f"features.{k}": v for k, v in features.state_dict().items()}
    missing = [k for k in own if k not in state]
    if missing:
        raise ValueError(f"VGG19 state dict lacks {missing[:3]}")
    features.load_state_dict({k.removeprefix("features."): state[k] for k in own})
    return features


class VGGFeatures(nn.Module):
    """Frozen VGG19 features at named ReLU layers of images in [-1, 1] (ImageNet-normalised inside)."""

    def __init__(self, state: dict[str, torch.Tensor], layers: tuple[str, ...] = DEFAULT_LAYERS) -> None:
        super().__init__()
        index = relu_indices()
        unknown = [n for n in layers if n not in index]
        if unknown:
            raise ValueError(f"unknown VGG19 layers {unknown}; known: {list(LAYER_NAMES)}")
        self.layers = tuple(layers)
        self.taps = [index[n] for n in layers]
        self.features = build_features(state, max(self.taps))
        self.register_buffer("mean", torch.tensor(IMAGENET_MEAN).view(1, 3, 1, 1))
        self.register_buffer("std", torch.tensor(IMAGENET_STD).view(1, 3, 1, 1))
        self.requires_grad_(False)
        self.eval()

    def train(self, mode: bool = True) -> "VGGFeatures":  # always in eval: it is a fixed measuring device
        return super().train(False)

    def forward(self, x: torch.Tensor) -> list[torch.Tensor]:
        """The features at each of `layers`, shallowest first."""
        h = ((x + 1) / 2 - self.mean) / self.std
        out, taps = [], set(self.taps)
        for i, layer in enumerate(self.features):
            h = layer(h)
            if i in taps:
                out.append(h)
        return out


@dataclass(frozen=True)
class PerceptualStatus:
    """Whether the perceptual terms are on, and on what (for params, tags and the report)."""

    available: bool
    detail: str  # "vgg19:<sha256[:12]>" when on, "unavailable: <reason>" when off

    @property
    def tag(self) -> str:
        """The value of the run's PERCEPTUAL_TAG."""
        return self.detail


def load_perceptual(layers: tuple[str, ...] = DEFAULT_LAYERS, weights: str = VGG19_WEIGHTS,
                    path: Path | None = None, device: str | torch.device = "cpu"
                    ) -> tuple[VGGFeatures | None, PerceptualStatus]:
    """(features, status) from the model store's `weights` entry (or an explicit file); (None, why) when absent."""
    from components.errors import MissingWeightsError, VtonError
    from components.hashing import sha256_file

    try:
        if path is None:
            from components.models.store import Catalog, ensure_weights

            path = ensure_weights(weights)
            check_torchvision_prefix(Catalog.load().get(weights).filename, Path(path))
        state = torch.load(path, map_location="cpu", weights_only=True)
        features = VGGFeatures(state, tuple(layers)).to(device)
    except MissingWeightsError as exc:
        return None, PerceptualStatus(False, f"unavailable: {exc.message}")
    except (VtonError, OSError, ValueError, RuntimeError) as exc:
        return None, PerceptualStatus(False, f"unavailable: {path or weights}: {exc}")
    return features, PerceptualStatus(True, f"vgg19:{sha256_file(Path(path))[:12]}")


def check_torchvision_prefix(filename: str, path: Path) -> None:
    """torchvision names weight files `<name>-<first 8 hex of sha256>.pth`: refuse a file whose bytes disagree
    (the catalog's full checksum may still be `unknown-until-pulled`, recorded at the first pull)."""
    import re

    from components.errors import MissingWeightsError
    from components.hashing import sha256_file

    m = re.search(r"-([0-9a-f]{8})\.pth$", filename)
    if m and not (sha := sha256_file(path)).startswith(m.group(1)):
        raise MissingWeightsError(f"{path}: sha256 {sha[:12]}... does not start with {m.group(1)}, the checksum "
                                  f"prefix torchvision publishes in the file name {filename}",
                                  hint=f"delete it and place torchvision's own {filename}")


def gram(f: torch.Tensor) -> torch.Tensor:
    """BxCxC Gram matrices of BxCxHxW features, normalised by C*H*W."""
    b, c, h, w = f.shape
    flat = f.reshape(b, c, h * w)
    return flat @ flat.transpose(1, 2) / (c * h * w)


def perceptual_loss(fa: list[torch.Tensor], fb: list[torch.Tensor], weights: tuple[float, ...] | None = None
                    ) -> torch.Tensor:
    """Weighted L1 between feature lists (`fb` is the target and carries no gradient)."""
    weights = weights or (1.0,) * len(fa)
    return sum(w * nn.functional.l1_loss(a, b.detach()) for w, a, b in zip(weights, fa, fb))


def style_loss(fa: list[torch.Tensor], fb: list[torch.Tensor]) -> torch.Tensor:
    """L1 between the Gram matrices of feature lists."""
    return sum(nn.functional.l1_loss(gram(a), gram(b.detach())) for a, b in zip(fa, fb))
