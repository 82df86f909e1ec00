"""DensePose R50-FPN s1x (detectron2 `densepose_rcnn_R_50_FPN_s1x`) in plain PyTorch + torchvision ops.

Architecture as the detectron2 config builds it: ResNet-50 (FrozenBN, stride in the 1x1 conv) -> FPN (P2-P6)
-> RPN (3 anchors per location, sizes 32-512) -> Fast R-CNN box head (2 FC, 1 class: person)
-> DensePose branch: Panoptic-FPN style decoder onto P2's stride, ROIAlign 28x28, DensePoseV1ConvXHead
(8 3x3 convs, 512 channels) and the chart predictor (coarse segm, fine segm I, U, V), upsampled to 112x112.

Checkpoint names: our modules carry our own names; `DETECTRON2_PREFIXES` is the explicit map from detectron2
names in `model_final_162be9.pkl` to ours (everything after the prefix is the same in both).
"""

from __future__ import annotations

import math
import pickle
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn
from torchvision.ops import batched_nms, roi_align

from components.annotate.networks.checkpoint import CheckpointMismatch, build_for_loading, check_state_dict, require_file

# detectron2 name prefix -> our module prefix. Order matters only for readability; prefixes do not overlap.
DETECTRON2_PREFIXES: tuple[tuple[str, str], ...] = (
    ("backbone.bottom_up.", "resnet."),
    ("backbone.fpn_lateral", "fpn.lateral"),
    ("backbone.fpn_output", "fpn.output"),
    ("proposal_generator.rpn_head.", "rpn."),
    ("roi_heads.box_head.", "box_head."),
    ("roi_heads.box_predictor.", "box_predictor."),
    ("roi_heads.decoder.", "dp_decoder."),
    ("roi_heads.densepose_head.", "dp_head."),
    ("roi_heads.densepose_predictor.", "dp_predictor."),
)
# Entries detectron2 checkpoints may carry that are not weights: input normalisation (used when present)
# and anchor buffers of older detectron2 versions (recomputed here from the config, so ignored).
NON_WEIGHT_KEYS = ("pixel_mean", "pixel_std")
IGNORED_PREFIXES = ("proposal_generator.anchor_generator.",)

PIXEL_MEAN_BGR = (103.530, 116.280, 123.675)  # detectron2 default (MSRA ResNet), input in BGR 0-255
PIXEL_STD_BGR = (1.0, 1.0, 1.0)

# Index of DensePose's 24 fine parts (the I channel; 0 = background), as documented by DensePose.
PART_NAMES = ("background", "torso_back", "torso_front", "right_hand", "left_hand", "left_foot", "right_foot",
              "upper_leg_right_back", "upper_leg_left_back", "upper_leg_right_front", "upper_leg_left_front",
              "lower_leg_right_back", "lower_leg_left_back", "lower_leg_right_front", "lower_leg_left_front",
              "upper_arm_left_front", "upper_arm_right_front", "upper_arm_left_back", "upper_arm_right_back",
              "lower_arm_left_front", "lower_arm_right_front", "lower_arm_left_back", "lower_arm_right_back",
              "head_right", "head_left")


def detectron2_to_ours(name: str) -> str:
    """Our parameter name for a detectron2 checkpoint name (unchanged when no prefix applies)."""
    for theirs, ours in DETECTRON2_PREFIXES:
        if name.startswith(theirs):
            return ours + name[len(theirs):]
    return name


def ours_to_detectron2(name: str) -> str:
    """The detectron2 checkpoint name for one of our parameter names."""
    for theirs, ours in DETECTRON2_PREFIXES:
        if name.startswith(ours):
            return theirs + name[len(ours):]
    return name


class FrozenBN(nn.Module):
    """detectron2's FrozenBatchNorm2d: a fixed per-channel affine map from stored BN statistics."""

    def __init__(self, n: int, eps: float = 1e-5):
        super().__init__()
        self.eps = eps
        self.register_buffer("weight", torch.ones(n))
        self.register_buffer("bias", torch.zeros(n))
        self.register_buffer("running_mean", torch.zeros(n))
        self.register_buffer("running_var", torch.ones(n) - eps)

    def forward(self, x: torch.Tensor) -> torch.Tensor:  # noqa: D102
        scale = self.weight * (self.running_var + self.eps).rsqrt()
        shift = self.bias - self.running_mean * scale
        return x * scale.view(1, -1, 1, 1).to(x.dtype) + shift.view(1, -1, 1, 1).to(x.dtype)


class ConvNorm(nn.Conv2d):
    """A bias-free conv with a `norm` child (detectron2's Conv2d(norm=FrozenBN)): keys `<conv>.norm.*`."""

    def __init__(self, cin: int, cout: int, k: int, stride: int = 1):
        super().__init__(cin, cout, k, stride=stride, padding=k // 2, bias=False)
        self.norm = FrozenBN(cout)

    def forward(self, x: torch.Tensor) -> torch.Tensor:  # noqa: D102
        return self.norm(super().forward(x))


class BottleneckBlock(nn.Module):
    """ResNet bottleneck with the stride in the first 1x1 conv (MSRA weights), detectron2 naming."""

    def __init__(self, cin: int, mid: int, cout: int, stride: int):
        super().__init__()
        self.shortcut = ConvNorm(cin, cout, 1, stride) if cin != cout else None
        self.conv1 = ConvNorm(cin, mid, 1, stride)
        self.conv2 = ConvNorm(mid, mid, 3)
        self.conv3 = ConvNorm(mid, cout, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:  # noqa: D102
        y = F.relu(self.conv1(x))
        y = F.relu(self.conv2(y))
        y = self.conv3(y)
        return F.relu(y + (x if self.shortcut is None else self.shortcut(x)))


class Stem(nn.Module):
    """7x7/2 conv + FrozenBN + ReLU + 3x3/2 max pool."""

    def __init__(self):
        super().__init__()
        self.conv1 = ConvNorm(3, 64, 7, 2)

    def forward(self, x: torch.Tensor) -> torch.Tensor:  # noqa: D102
        return F.max_pool2d(F.relu(self.conv1(x)), 3, stride=2, padding=1)


class ResNet50(nn.Module):
    """ResNet-50 returning res2-res5 (strides 4, 8, 16, 32)."""

    def __init__(self, depths: tuple[int, int, int, int] = (3, 4, 6, 3)):
        super().__init__()
        self.stem = Stem()
        cin = 64
        for i, n in enumerate(depths):
            mid, cout = 64 * 2**i, 256 * 2**i
            blocks = [BottleneckBlock(cin if j == 0 else cout, mid, cout, (1 if i == 0 else 2) if j == 0 else 1)
                      for j in range(n)]
            self.add_module(f"res{i + 2}", nn.Sequential(*blocks))
            cin = cout

    def forward(self, x: torch.Tensor) -> list[torch.Tensor]:  # noqa: D102
        x = self.stem(x)
        outs = []
        for i in range(2, 6):
            x = getattr(self, f"res{i}")(x)
            outs.append(x)
        return outs


class FPN(nn.Module):
    """Feature pyramid: 1x1 laterals, nearest top-down sum, 3x3 outputs; P6 = stride-2 subsample of P5."""

    def __init__(self, in_channels: tuple[int, ...] = (256, 512, 1024, 2048), dim: int = 256):
        super().__init__()
        for level, cin in zip(range(2, 6), in_channels):
            self.add_module(f"lateral{level}", nn.Conv2d(cin, dim, 1))
            self.add_module(f"output{level}", nn.Conv2d(dim, dim, 3, padding=1))

    def forward(self, feats: list[torch.Tensor]) -> list[torch.Tensor]:
        """[P2, P3, P4, P5, P6] from [res2..res5]."""
        prev = self.lateral5(feats[3])
        outs = [self.output5(prev)]
        for level in (4, 3, 2):
            prev = getattr(self, f"lateral{level}")(feats[level - 2]) + F.interpolate(prev, scale_factor=2.0, mode="nearest")
            outs.insert(0, getattr(self, f"output{level}")(prev))
        outs.append(F.max_pool2d(outs[-1], kernel_size=1, stride=2))
        return outs


class RPNHead(nn.Module):
    """Shared 3x3 conv then per-anchor objectness logits and box deltas."""

    def __init__(self, dim: int = 256, anchors: int = 3):
        super().__init__()
        self.conv = nn.Conv2d(dim, dim, 3, padding=1)
        self.objectness_logits = nn.Conv2d(dim, anchors, 1)
        self.anchor_deltas = nn.Conv2d(dim, anchors * 4, 1)

    def forward(self, feats: list[torch.Tensor]) -> tuple[list[torch.Tensor], list[torch.Tensor]]:  # noqa: D102
        logits, deltas = [], []
        for f in feats:
            t = F.relu(self.conv(f))
            logits.append(self.objectness_logits(t))
            deltas.append(self.anchor_deltas(t))
        return logits, deltas


class BoxHead(nn.Module):
    """FastRCNNConvFCHead with two FC layers of 1024."""

    def __init__(self, cin: int = 256 * 7 * 7, dim: int = 1024):
        super().__init__()
        self.fc1 = nn.Linear(cin, dim)
        self.fc2 = nn.Linear(dim, dim)

    def forward(self, x: torch.Tensor) -> torch.Tensor:  # noqa: D102
        return F.relu(self.fc2(F.relu(self.fc1(x.flatten(1)))))


class BoxPredictor(nn.Module):
    """Class scores (person, background) and class-specific box deltas."""

    def __init__(self, dim: int = 1024, num_classes: int = 1):
        super().__init__()
        self.cls_score = nn.Linear(dim, num_classes + 1)
        self.bbox_pred = nn.Linear(dim, num_classes * 4)

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:  # noqa: D102
        return self.cls_score(x), self.bbox_pred(x)


class PanopticDecoder(nn.Module):
    """Merges P2-P5 at stride 4: per level towers of conv+ReLU (each followed by 2x upsampling above P2), summed,
    then a 1x1 conv. Tower indices count conv and upsample layers only, as detectron2's (ReLU lives in its Conv2d).
    """

    def __init__(self, dim: int = 256, out: int = 256):
        super().__init__()
        for level in range(2, 6):
            ops: list[nn.Module] = []
            for _ in range(max(1, level - 2)):
                ops.append(nn.Conv2d(dim, dim, 3, padding=1))
                if level > 2:
                    ops.append(nn.Upsample(scale_factor=2, mode="bilinear", align_corners=False))
            self.add_module(f"p{level}", nn.Sequential(*ops))
        self.predictor = nn.Conv2d(dim, out, 1)

    @staticmethod
    def _tower(ops: nn.Sequential, x: torch.Tensor) -> torch.Tensor:
        for m in ops:
            x = F.relu(m(x)) if isinstance(m, nn.Conv2d) else m(x)
        return x

    def forward(self, feats: list[torch.Tensor]) -> torch.Tensor:  # noqa: D102
        x = self._tower(self.p2, feats[0])
        for level in (3, 4, 5):
            x = x + self._tower(getattr(self, f"p{level}"), feats[level - 2])
        return self.predictor(x)


class DensePoseHead(nn.Module):
    """DensePoseV1ConvXHead: 8 stacked 3x3 convs of 512 channels with ReLU."""

    def __init__(self, cin: int = 256, dim: int = 512, n: int = 8):
        super().__init__()
        self.n = n
        for i in range(n):
            self.add_module(f"body_conv_fcn{i + 1}", nn.Conv2d(cin if i == 0 else dim, dim, 3, padding=1))

    def forward(self, x: torch.Tensor) -> torch.Tensor:  # noqa: D102
        for i in range(self.n):
            x = F.relu(getattr(self, f"body_conv_fcn{i + 1}")(x))
        return x


class ChartPredictor(nn.Module):
    """DensePoseChartPredictor: 4x4/2 transposed convs for coarse segm, fine segm (I), U and V, then 2x bilinear."""

    def __init__(self, cin: int = 512, coarse: int = 2, patches: int = 24):
        super().__init__()
        self.ann_index_lowres = nn.ConvTranspose2d(cin, coarse, 4, stride=2, padding=1)
        self.index_uv_lowres = nn.ConvTranspose2d(cin, patches + 1, 4, stride=2, padding=1)
        self.u_lowres = nn.ConvTranspose2d(cin, patches + 1, 4, stride=2, padding=1)
        self.v_lowres = nn.ConvTranspose2d(cin, patches + 1, 4, stride=2, padding=1)

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, ...]:
        """(coarse segm, fine segm, U, V) per ROI at twice the deconvolved size."""
        up = lambda t: F.interpolate(t, scale_factor=2, mode="bilinear", align_corners=False)  # noqa: E731
        return (up(self.ann_index_lowres(x)), up(self.index_uv_lowres(x)), up(self.u_lowres(x)), up(self.v_lowres(x)))


@dataclass(frozen=True)
class DetectorConfig:
    """Inference settings of the s1x config (detectron2 defaults unless the DensePose config overrides them)."""

    anchor_sizes: tuple[int, ...] = (32, 64, 128, 256, 512)
    aspect_ratios: tuple[float, ...] = (0.5, 1.0, 2.0)
    strides: tuple[int, ...] = (4, 8, 16, 32, 64)
    pre_nms_topk: int = 1000
    post_nms_topk: int = 1000
    rpn_nms: float = 0.7
    score_threshold: float = 0.05  # CatVTON uses 0.8 for the person it keeps; the annotator applies that
    box_nms: float = 0.5
    max_detections: int = 100
    box_weights: tuple[float, float, float, float] = (10.0, 10.0, 5.0, 5.0)
    size_divisibility: int = 32


@dataclass
class TrunkOutputs:
    """What the fully convolutional part computes once per batch: FPN levels P2-P6 and the RPN's raw outputs."""

    features: list[torch.Tensor]
    rpn_logits: list[torch.Tensor]
    rpn_deltas: list[torch.Tensor]
    chart_base: torch.Tensor | None = None  # the DensePose decoder's output when a runtime computes it eagerly


class DensePoseRCNN(nn.Module):
    """Person detector + DensePose chart head; `forward` takes a normalised-on-the-fly BGR 0-255 batch.

    The network parts (`trunk`, `box_outputs`, `chart_features`, `chart_outputs`) are what an ONNX export
    holds; the box logic between them (anchors, NMS, ROIAlign) is `detect_and_chart`, shared by both runtimes.
    """

    def __init__(self, decoder: bool = True, config: DetectorConfig = DetectorConfig()):
        super().__init__()
        self.config = config
        self.resnet = ResNet50()
        self.fpn = FPN()
        self.rpn = RPNHead(anchors=len(config.aspect_ratios))
        self.box_head = BoxHead()
        self.box_predictor = BoxPredictor()
        self.dp_decoder = PanopticDecoder() if decoder else None
        self.dp_head = DensePoseHead()
        self.dp_predictor = ChartPredictor()
        self.register_buffer("pixel_mean", torch.tensor(PIXEL_MEAN_BGR).view(3, 1, 1), persistent=False)
        self.register_buffer("pixel_std", torch.tensor(PIXEL_STD_BGR).view(3, 1, 1), persistent=False)

    @property
    def device(self) -> torch.device:
        """Where the weights live."""
        return self.pixel_mean.device

    @property
    def dtype(self) -> torch.dtype:
        """The weights' precision (float16 after `.half()` on GPU)."""
        return next(self.parameters()).dtype

    def trunk(self, images: torch.Tensor) -> TrunkOutputs:
        """Normalise a padded BGR 0-255 batch and run ResNet-50, FPN and the RPN head."""
        x = (images - self.pixel_mean.to(images.dtype)) / self.pixel_std.to(images.dtype)
        feats = self.fpn(self.resnet(x))
        logits, deltas = self.rpn(feats)
        return TrunkOutputs(feats, logits, deltas)

    def box_outputs(self, pooled: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Class logits and box deltas for ROI features pooled to 7x7."""
        return self.box_predictor(self.box_head(pooled))

    def chart_features(self, trunk: TrunkOutputs) -> torch.Tensor | None:
        """The decoder's stride-4 map the DensePose ROIs are pooled from; None for decoder-less checkpoints."""
        if trunk.chart_base is not None:
            return trunk.chart_base
        return self.dp_decoder(trunk.features[:4]) if self.dp_decoder is not None else None

    def chart_outputs(self, pooled: torch.Tensor) -> tuple[torch.Tensor, ...]:
        """Chart outputs (coarse, fine, U, V), each (R, C, 112, 112), for ROI features pooled to 28x28."""
        return self.dp_predictor(self.dp_head(pooled))

    def forward(self, images: torch.Tensor, image_hw: list[tuple[int, int]], min_score: float = 0.8):
        """See `detect_and_chart`."""
        return detect_and_chart(self, images, image_hw, min_score)


# ---------------------------------------------------------------------------------------------------------------
# Box logic between the network parts (detectron2's RPN, Fast R-CNN and ROI pooling at inference), written once for
# any `nets` with config, trunk, box_outputs, chart_features and chart_outputs: the PyTorch model or the ONNX runtime.


def anchors_for(feats: list[torch.Tensor], config: DetectorConfig) -> list[torch.Tensor]:
    """Per level, the (H*W*A, 4) anchor boxes in location-major order, as detectron2's DefaultAnchorGenerator."""
    out = []
    for f, size, stride in zip(feats, config.anchor_sizes, config.strides):
        cell = []
        for r in config.aspect_ratios:
            w = math.sqrt(size * size / r)
            h = r * w
            cell.append([-w / 2, -h / 2, w / 2, h / 2])
        cell_t = torch.tensor(cell, device=f.device, dtype=torch.float32)
        hh, ww = f.shape[-2:]
        ys, xs = torch.meshgrid(torch.arange(hh, device=f.device) * stride,
                                torch.arange(ww, device=f.device) * stride, indexing="ij")
        shifts = torch.stack([xs, ys, xs, ys], dim=-1).reshape(-1, 1, 4).float()
        out.append((shifts + cell_t.view(1, -1, 4)).reshape(-1, 4))
    return out


def decode_boxes(deltas: torch.Tensor, boxes: torch.Tensor, weights: tuple[float, ...]) -> torch.Tensor:
    """detectron2's Box2BoxTransform.apply_deltas (dx, dy, dw, dh; scale clamped at log(1000/16))."""
    wx, wy, ww, wh = weights
    widths, heights = boxes[:, 2] - boxes[:, 0], boxes[:, 3] - boxes[:, 1]
    cx, cy = boxes[:, 0] + 0.5 * widths, boxes[:, 1] + 0.5 * heights
    clamp = math.log(1000.0 / 16)
    dx, dy = deltas[:, 0] / wx, deltas[:, 1] / wy
    dw, dh = (deltas[:, 2] / ww).clamp(max=clamp), (deltas[:, 3] / wh).clamp(max=clamp)
    pcx, pcy = dx * widths + cx, dy * heights + cy
    pw, ph = torch.exp(dw) * widths, torch.exp(dh) * heights
    return torch.stack([pcx - 0.5 * pw, pcy - 0.5 * ph, pcx + 0.5 * pw, pcy + 0.5 * ph], dim=1)


def rpn_proposals(trunk: TrunkOutputs, image_hw: list[tuple[int, int]], config: DetectorConfig) -> list[torch.Tensor]:
    """Per image, the RPN's proposals: top-k per level, decoded, clipped, NMS across levels (level-aware)."""
    feats, logits, deltas = trunk.features, trunk.rpn_logits, trunk.rpn_deltas
    anchors = anchors_for(feats, config)
    result = []
    for i in range(feats[0].shape[0]):
        boxes_l, scores_l, level_l = [], [], []
        for lvl, (lg, dl, an) in enumerate(zip(logits, deltas, anchors)):
            a = lg.shape[1]
            score = lg[i].permute(1, 2, 0).reshape(-1)  # (H*W*A), location-major like the anchors
            delta = dl[i].view(a, 4, *dl.shape[-2:]).permute(2, 3, 0, 1).reshape(-1, 4)
            k = min(config.pre_nms_topk, score.numel())
            top_s, idx = score.float().topk(k)
            boxes_l.append(decode_boxes(delta[idx].float(), an[idx], (1.0, 1.0, 1.0, 1.0)))
            scores_l.append(top_s)
            level_l.append(torch.full((k,), lvl, device=score.device))
        boxes, scores, levels = torch.cat(boxes_l), torch.cat(scores_l), torch.cat(level_l)
        boxes = _clip(boxes, image_hw[i])
        keep = ((boxes[:, 2] - boxes[:, 0]) > 0) & ((boxes[:, 3] - boxes[:, 1]) > 0) & torch.isfinite(boxes).all(1)
        boxes, scores, levels = boxes[keep], scores[keep], levels[keep]
        keep = batched_nms(boxes, scores, levels, config.rpn_nms)[: config.post_nms_topk]
        result.append(boxes[keep])
    return result


def pool_multilevel(feats: list[torch.Tensor], boxes: list[torch.Tensor], size: int) -> torch.Tensor:
    """ROIAlign each box from its FPN level (P2-P5, chosen by box size as detectron2's ROIPooler does)."""
    rois = _rois(boxes)
    area = ((rois[:, 3] - rois[:, 1]) * (rois[:, 4] - rois[:, 2])).clamp(min=0)
    levels = torch.floor(4 + torch.log2(torch.sqrt(area) / 224 + 1e-8)).clamp(2, 5).long() - 2
    out = feats[0].new_zeros((len(rois), feats[0].shape[1], size, size))
    for lvl in range(4):
        idx = (levels == lvl).nonzero(as_tuple=True)[0]
        if len(idx):
            out[idx] = roi_align(feats[lvl], rois[idx].to(feats[lvl].dtype), size, 1.0 / 2 ** (lvl + 2), 2, aligned=False)
    return out


def detect_people(nets, trunk: TrunkOutputs, proposals: list[torch.Tensor], image_hw: list[tuple[int, int]]
                  ) -> list[tuple[torch.Tensor, torch.Tensor]]:
    """Per image, the person detections (boxes, scores) after the box head, score cut-off and NMS."""
    cfg = nets.config
    pooled = pool_multilevel(trunk.features[:4], proposals, 7)
    logits, deltas = nets.box_outputs(pooled)
    probs = F.softmax(logits.float(), dim=-1)[:, 0]  # column 0 = person, last = background
    out, start = [], 0
    for i, props in enumerate(proposals):
        end = start + len(props)
        boxes = _clip(decode_boxes(deltas[start:end].float(), props, cfg.box_weights), image_hw[i])
        scores = probs[start:end]
        keep = scores > cfg.score_threshold
        boxes, scores = boxes[keep], scores[keep]
        keep = batched_nms(boxes, scores, torch.zeros_like(scores, dtype=torch.long), cfg.box_nms)[: cfg.max_detections]
        out.append((boxes[keep], scores[keep]))
        start = end
    return out


def densepose_charts(nets, trunk: TrunkOutputs, boxes: list[torch.Tensor]) -> tuple[torch.Tensor, ...]:
    """Chart outputs (coarse, fine, U, V), each (R, C, 112, 112), for the given boxes."""
    base = nets.chart_features(trunk)
    if base is not None:
        pooled = roi_align(base, _rois(boxes).to(base.dtype), 28, 0.25, 2, aligned=False)
    else:  # without the decoder detectron2 pools each box from its own pyramid level
        pooled = pool_multilevel(trunk.features[:4], boxes, 28)
    return nets.chart_outputs(pooled)


def detect_and_chart(nets, images: torch.Tensor, image_hw: list[tuple[int, int]], min_score: float = 0.8):
    """For a padded BGR 0-255 batch (image_hw = each image's valid size): per image all detections
    (boxes, scores) and, for the best person scoring >= min_score (or None), the chart outputs.
    """
    trunk = nets.trunk(images)
    proposals = rpn_proposals(trunk, image_hw, nets.config)
    detections = detect_people(nets, trunk, proposals, image_hw)
    # Only the best person per image gets the (expensive) DensePose head: the pipeline keeps one person.
    best = [b[:1] if len(s) and float(s[0]) >= min_score else b[:0] for b, s in detections]
    dtype = trunk.features[0].dtype
    charts = densepose_charts(nets, trunk, [b.to(dtype) for b in best]) if sum(map(len, best)) else None
    return detections, best, charts


def _clip(boxes: torch.Tensor, hw: tuple[int, int]) -> torch.Tensor:
    h, w = hw
    return torch.stack([boxes[:, 0].clamp(0, w), boxes[:, 1].clamp(0, h), boxes[:, 2].clamp(0, w),
                        boxes[:, 3].clamp(0, h)], dim=1)


def _rois(boxes: list[torch.Tensor]) -> torch.Tensor:
    return torch.cat([torch.cat([torch.full((len(b), 1), i, dtype=b.dtype, device=b.device), b], 1)
                      for i, b in enumerate(boxes)]) if boxes else torch.zeros((0, 5))


# ---------------------------------------------------------------------------------------------------------------
# Checkpoint loading


def read_detectron2_pkl(path: str | Path) -> dict[str, np.ndarray]:
    """The `model` mapping of a detectron2 model-zoo `.pkl` (pickled numpy arrays, detectron2 names)."""
    with open(path, "rb") as fh:
        data = pickle.load(fh, encoding="latin1")
    if not isinstance(data, dict) or not isinstance(data.get("model"), dict):
        raise CheckpointMismatch(
            f"{path} is not a detectron2 model-zoo checkpoint (expected a pickled dict with a 'model' mapping)",
            hint="use model_final_162be9.pkl from the DensePose model zoo",
        )
    return data["model"]


def state_from_detectron2(weights: dict) -> tuple[dict[str, torch.Tensor], dict[str, torch.Tensor]]:
    """(our state dict, non-weight entries such as pixel_mean) from detectron2-named arrays."""
    state, extra = {}, {}
    for name, value in weights.items():
        tensor = torch.as_tensor(np.asarray(value)) if not isinstance(value, torch.Tensor) else value
        if name in NON_WEIGHT_KEYS:
            extra[name] = tensor
        elif not name.startswith(IGNORED_PREFIXES):
            state[detectron2_to_ours(name)] = tensor
    return state, extra


def load_densepose(path: str | Path, device: str | torch.device = "cpu", config: DetectorConfig = DetectorConfig()) -> DensePoseRCNN:
    """Build DensePoseRCNN and load `model_final_162be9.pkl` through the explicit name map, strictly checked."""
    path = require_file(path, "DensePose R50-FPN")
    state, extra = state_from_detectron2(read_detectron2_pkl(path))
    # Checkpoints trained with ROI_DENSEPOSE_HEAD.DECODER_ON=False have no decoder weights; build to match.
    decoder = any(k.startswith("dp_decoder.") for k in state)
    model = build_for_loading(lambda: DensePoseRCNN(decoder=decoder, config=config))
    check_state_dict(model, state, path)
    model.load_state_dict(state, strict=True)
    # Input normalisation is not a weight: the checkpoint's when it carries one, else the config default.
    model.pixel_mean.copy_(extra.get("pixel_mean", torch.tensor(PIXEL_MEAN_BGR)).float().view(3, 1, 1))
    model.pixel_std.copy_(extra.get("pixel_std", torch.tensor(PIXEL_STD_BGR)).float().view(3, 1, 1))
    return model.eval().to(device)


def save_detectron2_pkl(model: DensePoseRCNN, path: str | Path) -> Path:
    """Write `model`'s weights as a detectron2 model-zoo `.pkl` (numpy arrays under detectron2 names)."""
    weights = {ours_to_detectron2(k): v.detach().cpu().numpy() for k, v in model.state_dict().items()}
    with open(path, "wb") as fh:
        pickle.dump({"model": weights, "__author__": "vton-pipeline"}, fh, protocol=pickle.HIGHEST_PROTOCOL)
    return Path(path)


# ---------------------------------------------------------------------------------------------------------------
# Per-image results


@dataclass
class DensePoseResult:
    """One image's DensePose: I (0-24) and U, V (0-1) maps in image pixels, plus the kept person's box and score."""

    parts: np.ndarray  # uint8 HxW
    uv: np.ndarray  # float32 2xHxW
    box: tuple[float, float, float, float] | None
    score: float
    n_people: int


def paste_charts(charts: tuple[torch.Tensor, ...], index: int, box: torch.Tensor, hw: tuple[int, int]) -> tuple[np.ndarray, np.ndarray]:
    """Resample one ROI's chart outputs to its box (bilinear) and paste I, U, V into an image-sized canvas."""
    coarse, fine, u, v = (c[index : index + 1].float() for c in charts)
    x0, y0, x1, y1 = box.tolist()
    x, y = int(x0), int(y0)
    w, h = max(int(x1 - x0), 1), max(int(y1 - y0), 1)
    size = (h, w)
    rs = lambda t: F.interpolate(t, size=size, mode="bilinear", align_corners=False)  # noqa: E731
    fine_r = rs(fine)
    labels = fine_r.argmax(1) * (rs(coarse).argmax(1) > 0)
    u_r = rs(u).gather(1, labels[:, None]).clamp(0, 1)[0, 0]
    v_r = rs(v).gather(1, labels[:, None]).clamp(0, 1)[0, 0]
    labels = labels[0]
    parts = np.zeros(hw, np.uint8)
    uv = np.zeros((2, *hw), np.float32)
    hh, ww = min(h, hw[0] - y), min(w, hw[1] - x)
    if hh > 0 and ww > 0:
        parts[y : y + hh, x : x + ww] = labels[:hh, :ww].cpu().numpy().astype(np.uint8)
        uv[0, y : y + hh, x : x + ww] = u_r[:hh, :ww].cpu().numpy()
        uv[1, y : y + hh, x : x + ww] = v_r[:hh, :ww].cpu().numpy()
        uv[:, parts == 0] = 0
    return parts, uv


def prepare_batch(images_rgb: list[np.ndarray], min_size: int = 800, max_size: int = 1333, divisor: int = 32,
                  device: str | torch.device = "cpu", dtype: torch.dtype = torch.float32,
                  pad_bgr: tuple[float, float, float] = PIXEL_MEAN_BGR):
    """BGR 0-255 tensors resized like detectron2's test transform (short side min_size, long <= max_size), padded.

    As detectron2's `ResizeShortestEdge`: PIL bilinear (which antialiases when shrinking; OpenCV's does not).
    The padding is `pad_bgr`, the model's pixel mean, because detectron2 pads with zeros AFTER normalising.
    """
    from PIL import Image

    tensors, sizes, scales = [], [], []
    for img in images_rgb:
        h, w = img.shape[:2]
        scale = min(min_size / min(h, w), max_size / max(h, w))
        nh, nw = int(h * scale + 0.5), int(w * scale + 0.5)
        bgr = Image.fromarray(np.ascontiguousarray(np.asarray(img, dtype=np.uint8)[:, :, ::-1]))
        resized = np.asarray(bgr.resize((nw, nh), Image.BILINEAR))
        tensors.append(torch.from_numpy(resized.copy()).permute(2, 0, 1).float())
        sizes.append((nh, nw))
        scales.append((h / nh, w / nw))
    H = max(s[0] for s in sizes)
    W = max(s[1] for s in sizes)
    H, W = int(math.ceil(H / divisor) * divisor), int(math.ceil(W / divisor) * divisor)
    batch = torch.tensor(pad_bgr, dtype=torch.float32).view(1, 3, 1, 1).repeat(len(tensors), 1, H, W)
    for i, t in enumerate(tensors):
        batch[i, :, : t.shape[1], : t.shape[2]] = t
    return batch.to(device=device, dtype=dtype), sizes, scales


@torch.no_grad()
def run_densepose(model, images_rgb: list[np.ndarray], min_score: float = 0.8, min_size: int = 800,
                  max_size: int = 1333, dtype: torch.dtype | None = None) -> list[DensePoseResult]:
    """DensePose for a batch of RGB images: the highest-scoring person per image (as CatVTON/IDM-VTON keep).

    `model` is a DensePoseRCNN or an OnnxDensePose (networks/densepose_onnx.py): the same box logic runs around both.
    """
    device = model.device
    dtype = dtype or model.dtype
    mean = getattr(model, "pixel_mean", None)
    pad = tuple(float(v) for v in mean.flatten().tolist()) if mean is not None else PIXEL_MEAN_BGR
    batch, sizes, scales = prepare_batch(images_rgb, min_size, max_size, model.config.size_divisibility, device, dtype,
                                         pad)
    detections, best, charts = model(batch, sizes, min_score)
    results, row = [], 0
    for i, img in enumerate(images_rgb):
        hw = img.shape[:2]
        scores = detections[i][1]
        n_people = int((scores >= min_score).sum())
        if not len(best[i]):
            results.append(DensePoseResult(np.zeros(hw, np.uint8), np.zeros((2, *hw), np.float32), None, 0.0, n_people))
            continue
        sy, sx = scales[i]
        box = best[i][0].float() * torch.tensor([sx, sy, sx, sy], device=best[i].device)
        parts, uv = paste_charts(charts, row, box, hw)
        results.append(DensePoseResult(parts, uv, tuple(box.tolist()), float(scores[0]), n_people))
        row += 1
    return results
