"""The networks behind FID/KID and LPIPS: the standard weights from the model store, else named fallbacks.

Standard (calibrated, comparable with papers):
  FID/KID  torch-fidelity's InceptionV3 with `pt_inception-2015-12-05` (the TF FID graph ported to PyTorch),
  LPIPS    AlexNet ImageNet backbone `alexnet-owt-7be5be79` + the LPIPS v0.1 linear heads torchmetrics ships.
Fallback (uncalibrated, only comparable with itself):
  FID/KID  `random-resnet18-seed0`: a torchvision ResNet-18 with fixed-seed random weights, 512-d pooled features;
  LPIPS    `random-alexnet-seed0`: the same LPIPS network with a fixed-seed random AlexNet backbone.
Random features are deterministic, need no download and still separate distributions (random-feature FID is
a known, weaker proxy), so CI and the smoke profile measure the same way every time; every figure computed
with a fallback is tagged `uncalibrated`.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import torch
from torch import nn

FID_WEIGHTS = "pt_inception-2015-12-05"
LPIPS_BACKBONE = "alexnet-owt-7be5be79"
FID_FALLBACK = "random-resnet18-seed0"
LPIPS_FALLBACK = "random-alexnet-seed0"


class RandomResNetFeatures(nn.Module):
    """A fixed-seed random-init ResNet-18 trunk: uint8 Nx3xHxW images -> Nx512 pooled features."""

    num_features = 512

    def __init__(self, seed: int = 0) -> None:
        super().__init__()
        import torchvision

        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(seed)
            net = torchvision.models.resnet18(weights=None)
        net.fc = nn.Identity()
        self.net = net.eval()
        self.register_buffer("mean", torch.tensor([0.485, 0.456, 0.406]).view(1, 3, 1, 1))
        self.register_buffer("std", torch.tensor([0.229, 0.224, 0.225]).view(1, 3, 1, 1))
        for p in self.parameters():
            p.requires_grad = False

    @torch.no_grad()
    def forward(self, images: torch.Tensor) -> torch.Tensor:
        """Features of a uint8 (0..255) or float (0..1) image batch."""
        x = images.float() / 255.0 if images.dtype == torch.uint8 else images.float()
        x = nn.functional.interpolate(x, size=(224, 224), mode="bilinear", align_corners=False)
        return self.net((x - self.mean) / self.std)


@dataclass
class MetricNetworks:
    """What FID/KID and LPIPS run on, and whether the figures are comparable with the literature."""

    fid_feature: nn.Module
    lpips: nn.Module
    fid_extractor: str
    lpips_backbone: str
    notes: list[str] = field(default_factory=list)

    @property
    def calibrated(self) -> bool:
        """True only when both FID/KID and LPIPS use their standard weights."""
        return self.fid_extractor == FID_WEIGHTS and self.lpips_backbone == LPIPS_BACKBONE


def _lpips_network(backbone_state: dict | None, seed: int) -> nn.Module:
    """torchmetrics' LPIPS (alex) with its shipped linear heads and the given (or fixed-seed random) backbone."""
    from torchmetrics.functional.image.lpips import _NoTrainLpips

    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        net = _NoTrainLpips(net="alex", pretrained=True, pnet_rand=True)
    if backbone_state is not None:
        # torchmetrics slices torchvision's alexnet.features by index; copy each indexed layer's weights.
        for slice_ in (net.net.slice1, net.net.slice2, net.net.slice3, net.net.slice4, net.net.slice5):
            for name, layer in slice_.named_children():
                own = layer.state_dict()
                if own:
                    layer.load_state_dict({k: backbone_state[f"features.{name}.{k}"] for k in own})
    return net.eval()


def load_metric_networks(
    find_weights: Callable[[str], Path | None], seed: int = 0, require_calibrated: bool = False
) -> MetricNetworks:
    """Standard networks for the weights `find_weights` can supply, named fallbacks for the rest."""
    from components.errors import MissingWeightsError

    notes: list[str] = []
    inception = find_weights(FID_WEIGHTS)
    alexnet = find_weights(LPIPS_BACKBONE)
    if require_calibrated and (inception is None or alexnet is None):
        missing = [n for n, p in ((FID_WEIGHTS, inception), (LPIPS_BACKBONE, alexnet)) if p is None]
        raise MissingWeightsError(
            f"evaluation needs the standard metric weights {missing} in the model store",
            hint="pull them into the model store (see components/models catalog) or set "
            "evaluate.require_calibrated: false to accept uncalibrated figures",
        )
    if inception is not None:
        from torchmetrics.image.fid import NoTrainInceptionV3

        # The torch-fidelity port of the TF FID graph, 2048-d pool features, loaded from the store's file.
        fid_feature: nn.Module = NoTrainInceptionV3(
            name="inception-v3-compat", features_list=["2048"], feature_extractor_weights_path=str(inception)
        )
        fid_feature.num_features = 2048
        fid_name = FID_WEIGHTS
    else:
        fid_feature, fid_name = RandomResNetFeatures(seed), FID_FALLBACK
        notes.append(f"{FID_WEIGHTS} not in the model store: FID/KID use {FID_FALLBACK} (uncalibrated)")
    if alexnet is not None:
        lpips = _lpips_network(torch.load(alexnet, map_location="cpu", weights_only=True), seed)
        lpips_name = LPIPS_BACKBONE
    else:
        lpips, lpips_name = _lpips_network(None, seed), LPIPS_FALLBACK
        notes.append(f"{LPIPS_BACKBONE} not in the model store: LPIPS uses {LPIPS_FALLBACK} (uncalibrated)")
    return MetricNetworks(fid_feature, lpips, fid_name, lpips_name, notes)
