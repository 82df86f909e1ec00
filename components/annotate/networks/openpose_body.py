"""The CMU OpenPose body network (COCO-18, 6 stages) as packaged for ControlNet annotators, plus its decoding.

`body_pose_model.pth` is a flat state dict converted from the Caffe model: keys are layer names such as
`conv1_1.weight`, `conv5_5_CPM_L1.bias`, `Mconv7_stage6_L2.weight`. Our network groups layers into stage blocks
(`model0`, `model1_1`, ... `model6_2`, the grouping the ControlNet annotator uses) and the loader maps each flat
name to its block explicitly, so every file key must be used and every layer must be filled.
"""

from __future__ import annotations

from collections import OrderedDict
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np
import torch
from scipy.ndimage import gaussian_filter
from torch import nn

from components.annotate.networks.checkpoint import build_for_loading, load_checked, require_file

N_PAF = 38  # 19 limbs x (x, y)
N_HEATMAP = 19  # 18 COCO parts + background

# Backbone: VGG-19 first ten layers then the two CPM layers. (name, in, out, kernel) ; "pool" = 2x2 max pool.
_BACKBONE = [
    ("conv1_1", 3, 64, 3), ("conv1_2", 64, 64, 3), ("pool1_stage1",),
    ("conv2_1", 64, 128, 3), ("conv2_2", 128, 128, 3), ("pool2_stage1",),
    ("conv3_1", 128, 256, 3), ("conv3_2", 256, 256, 3), ("conv3_3", 256, 256, 3), ("conv3_4", 256, 256, 3),
    ("pool3_stage1",),
    ("conv4_1", 256, 512, 3), ("conv4_2", 512, 512, 3), ("conv4_3_CPM", 512, 256, 3), ("conv4_4_CPM", 256, 128, 3),
]


def _stage1(branch: int, cout: int) -> list[tuple]:
    return [(f"conv5_{i}_CPM_L{branch}", 128, 128, 3) for i in (1, 2, 3)] + [
        (f"conv5_4_CPM_L{branch}", 128, 512, 1), (f"conv5_5_CPM_L{branch}", 512, cout, 1)]


def _stage_n(stage: int, branch: int, cout: int) -> list[tuple]:
    cin = 128 + N_PAF + N_HEATMAP
    layers = [(f"Mconv1_stage{stage}_L{branch}", cin, 128, 7)]
    layers += [(f"Mconv{i}_stage{stage}_L{branch}", 128, 128, 7) for i in (2, 3, 4, 5)]
    return layers + [(f"Mconv6_stage{stage}_L{branch}", 128, 128, 1), (f"Mconv7_stage{stage}_L{branch}", 128, cout, 1)]


def _block(spec: list[tuple], relu_after_last: bool) -> nn.Sequential:
    layers: list[tuple[str, nn.Module]] = []
    for i, item in enumerate(spec):
        if len(item) == 1:
            layers.append((item[0], nn.MaxPool2d(2, 2)))
            continue
        name, cin, cout, k = item
        layers.append((name, nn.Conv2d(cin, cout, k, padding=k // 2)))
        if i < len(spec) - 1 or relu_after_last:
            layers.append((f"relu_{name}", nn.ReLU(inplace=True)))
    return nn.Sequential(OrderedDict(layers))


class OpenPoseBodyNet(nn.Module):
    """Six-stage two-branch CPM: branch L1 predicts 38 part-affinity channels, L2 predicts 19 heatmaps."""

    def __init__(self) -> None:
        super().__init__()
        self.model0 = _block(_BACKBONE, relu_after_last=True)
        self.model1_1 = _block(_stage1(1, N_PAF), relu_after_last=False)
        self.model1_2 = _block(_stage1(2, N_HEATMAP), relu_after_last=False)
        for s in range(2, 7):
            setattr(self, f"model{s}_1", _block(_stage_n(s, 1, N_PAF), relu_after_last=False))
            # The released annotator applies a ReLU after the very last heatmap layer (a quirk of its layer
            # list); kept so the heatmaps, and hence the keypoints, match what ControlNet users get.
            setattr(self, f"model{s}_2", _block(_stage_n(s, 2, N_HEATMAP), relu_after_last=(s == 6)))

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """(PAFs (N,38,H/8,W/8), heatmaps (N,19,H/8,W/8)) for a normalised BGR batch."""
        feats = self.model0(x)
        paf = self.model1_1(feats)
        heat = self.model1_2(feats)
        for s in range(2, 7):
            y = torch.cat([paf, heat, feats], 1)
            paf = getattr(self, f"model{s}_1")(y)
            heat = getattr(self, f"model{s}_2")(y)
        return paf, heat


def flat_to_network_names(model: OpenPoseBodyNet) -> dict[str, str]:
    """Map each flat checkpoint key (`conv1_1.weight`) to the network's key (`model0.conv1_1.weight`)."""
    return {k.split(".", 1)[1]: k for k in model.state_dict()}


def load_openpose_body(path: str | Path, device: str | torch.device = "cpu") -> OpenPoseBodyNet:
    """Build OpenPoseBodyNet and load `body_pose_model.pth` with strict key checks."""
    path = require_file(path, "OpenPose body")
    raw = torch.load(path, map_location="cpu", weights_only=True)
    model = build_for_loading(OpenPoseBodyNet)
    names = flat_to_network_names(model)
    # Unknown flat names stay as they are so the strict check reports them as unexpected.
    state = {names.get(k, k): v for k, v in raw.items()}
    return load_checked(model, state, path).to(device)


# ---------------------------------------------------------------------------------------------------------------
# Decoding: heatmap peaks + part-affinity-field matching into people (the published OpenPose/CMU procedure).

# COCO-18 keypoint order used by the body model.
COCO18 = ("Nose", "Neck", "RShoulder", "RElbow", "RWrist", "LShoulder", "LElbow", "LWrist", "RHip", "RKnee",
          "RAnkle", "LHip", "LKnee", "LAnkle", "REye", "LEye", "REar", "LEar")
# Limbs as (part a, part b) in COCO-18 indices, and the two PAF channels (x, y) that describe each.
LIMBS = ((1, 2), (1, 5), (2, 3), (3, 4), (5, 6), (6, 7), (1, 8), (8, 9), (9, 10), (1, 11), (11, 12), (12, 13),
         (1, 0), (0, 14), (14, 16), (0, 15), (15, 17), (2, 16), (5, 17))
LIMB_PAF = ((12, 13), (20, 21), (14, 15), (16, 17), (22, 23), (24, 25), (0, 1), (2, 3), (4, 5), (6, 7), (8, 9),
            (10, 11), (28, 29), (30, 31), (34, 35), (32, 33), (36, 37), (18, 19), (26, 27))


@dataclass(frozen=True)
class DecodeParams:
    """Thresholds of the published decoder (ControlNet / CMU defaults)."""

    peak_threshold: float = 0.1
    paf_threshold: float = 0.05
    samples: int = 10
    min_parts: int = 4
    min_mean_score: float = 0.4
    sigma: float = 3.0


def find_peaks(heatmaps: np.ndarray, p: DecodeParams) -> list[np.ndarray]:
    """Per part: array (k, 3) of (x, y, score) local maxima of the smoothed heatmap above the threshold."""
    out = []
    for part in range(len(COCO18)):
        raw = heatmaps[:, :, part]
        smooth = gaussian_filter(raw, sigma=p.sigma)
        padded = np.pad(smooth, 1, mode="constant", constant_values=-np.inf)
        centre = padded[1:-1, 1:-1]
        is_peak = (
            (centre >= padded[:-2, 1:-1]) & (centre >= padded[2:, 1:-1])
            & (centre >= padded[1:-1, :-2]) & (centre >= padded[1:-1, 2:]) & (centre > p.peak_threshold)
        )
        ys, xs = np.nonzero(is_peak)
        out.append(np.stack([xs, ys, raw[ys, xs]], axis=1).astype(np.float64) if len(xs) else np.zeros((0, 3)))
    return out


def _limb_score(a: np.ndarray, b: np.ndarray, paf_x: np.ndarray, paf_y: np.ndarray, height: int, p: DecodeParams):
    """Mean PAF alignment along a->b plus a length prior, or None when the limb is not supported."""
    vec = b[:2] - a[:2]
    norm = max(float(np.hypot(*vec)), 1e-3)
    unit = vec / norm
    xs = np.rint(np.linspace(a[0], b[0], p.samples)).astype(int)
    ys = np.rint(np.linspace(a[1], b[1], p.samples)).astype(int)
    along = paf_x[ys, xs] * unit[0] + paf_y[ys, xs] * unit[1]
    score = float(along.mean()) + min(0.5 * height / norm - 1.0, 0.0)
    if (along > p.paf_threshold).sum() > 0.8 * p.samples and score > 0:
        return score
    return None


def assemble_people(peaks: list[np.ndarray], pafs: np.ndarray, p: DecodeParams) -> list[np.ndarray]:
    """Group peaks into people; each person is an (18, 3) array of (x, y, score), zeros where a part is missing."""
    height = pafs.shape[0]
    # Global candidate table: row = (x, y, score, part).
    cands = [np.column_stack([pk, np.full(len(pk), part)]) for part, pk in enumerate(peaks)]
    offsets = np.cumsum([0] + [len(pk) for pk in peaks])
    table = np.concatenate(cands) if offsets[-1] else np.zeros((0, 4))
    people: list[dict] = []  # {"parts": [global id or -1]*18, "score": float, "count": int}
    for limb_i, ((pa, pb), (cx, cy)) in enumerate(zip(LIMBS, LIMB_PAF)):
        ca, cb = peaks[pa], peaks[pb]
        if not len(ca) or not len(cb):
            continue
        scored = []
        for i in range(len(ca)):
            for j in range(len(cb)):
                s = _limb_score(ca[i], cb[j], pafs[:, :, cx], pafs[:, :, cy], height, p)
                if s is not None:
                    scored.append((s, i, j))
        scored.sort(key=lambda t: t[0], reverse=True)
        used_a, used_b, links = set(), set(), []
        for s, i, j in scored:  # greedy one-to-one matching, best limbs first
            if i in used_a or j in used_b:
                continue
            used_a.add(i), used_b.add(j)
            links.append((offsets[pa] + i, offsets[pb] + j, s))
            if len(links) >= min(len(ca), len(cb)):
                break
        for ga, gb, s in links:
            owners = [k for k, person in enumerate(people) if person["parts"][pa] == ga or person["parts"][pb] == gb]
            if len(owners) == 1:
                person = people[owners[0]]
                if person["parts"][pb] != gb:
                    person["parts"][pb] = gb
                    person["count"] += 1
                    person["score"] += table[gb, 2] + s
            elif len(owners) == 2:
                first, second = people[owners[0]], people[owners[1]]
                overlap = any(x >= 0 and y >= 0 for x, y in zip(first["parts"], second["parts"]))
                if not overlap:  # two fragments of one person: merge them
                    first["parts"] = [x if x >= 0 else y for x, y in zip(first["parts"], second["parts"])]
                    first["count"] += second["count"]
                    first["score"] += second["score"] + s
                    people.pop(owners[1])
                else:
                    first["parts"][pb] = gb
                    first["count"] += 1
                    first["score"] += table[gb, 2] + s
            elif not owners and limb_i < 17:  # the two ear-shoulder limbs never start a person
                parts = [-1] * len(COCO18)
                parts[pa], parts[pb] = ga, gb
                people.append({"parts": parts, "count": 2, "score": table[ga, 2] + table[gb, 2] + s})
    result = []
    for person in people:
        if person["count"] < p.min_parts or person["score"] / person["count"] < p.min_mean_score:
            continue
        kp = np.zeros((len(COCO18), 3), dtype=np.float32)
        for part, g in enumerate(person["parts"]):
            if g >= 0:
                kp[part] = table[int(g), :3]
        result.append((person["score"], kp))
    result.sort(key=lambda t: t[0], reverse=True)
    return [kp for _, kp in result]


def preprocess(image_bgr: np.ndarray, scale: float, stride: int = 8, pad_value: int = 128) -> tuple[np.ndarray, tuple[int, int]]:
    """Resize by `scale` (cubic), pad right/bottom to a multiple of `stride`, normalise to [-0.5, 0.5); CHW float32."""
    img = cv2.resize(image_bgr, (0, 0), fx=scale, fy=scale, interpolation=cv2.INTER_CUBIC)
    h, w = img.shape[:2]
    ph, pw = (-h) % stride, (-w) % stride
    img = cv2.copyMakeBorder(img, 0, ph, 0, pw, cv2.BORDER_CONSTANT, value=(pad_value,) * 3)
    return (np.transpose(img.astype(np.float32), (2, 0, 1)) / 256.0 - 0.5), (h, w)


def upsample_outputs(out: np.ndarray, valid_hw: tuple[int, int], full_hw: tuple[int, int], stride: int = 8) -> np.ndarray:
    """Stride-8 network maps (C,h,w) -> HWC at full image size: x stride, crop the padding, resize (cubic)."""
    hwc = np.transpose(out, (1, 2, 0))
    hwc = cv2.resize(hwc, (0, 0), fx=stride, fy=stride, interpolation=cv2.INTER_CUBIC)
    hwc = hwc[: valid_hw[0], : valid_hw[1]]
    hwc = cv2.resize(hwc, (full_hw[1], full_hw[0]), interpolation=cv2.INTER_CUBIC)
    return hwc.reshape(full_hw[0], full_hw[1], -1)


def coco18_to_body25(kp18: np.ndarray) -> np.ndarray:
    """COCO-18 (18,3) -> BODY_25 (25,3): same parts re-indexed, MidHip from both hips, feet left as zeros."""
    out = np.zeros((25, 3), dtype=np.float32)
    # BODY_25 index of each COCO-18 part.
    to25 = (0, 1, 2, 3, 4, 5, 6, 7, 9, 10, 11, 12, 13, 14, 15, 16, 17, 18)
    out[list(to25)] = kp18
    rhip, lhip = kp18[8], kp18[11]
    if rhip[2] > 0 and lhip[2] > 0:
        out[8] = [(rhip[0] + lhip[0]) / 2, (rhip[1] + lhip[1]) / 2, min(rhip[2], lhip[2])]
    return out


@torch.no_grad()
def detect_people(
    model: OpenPoseBodyNet,
    image_rgb: np.ndarray,
    scales: tuple[float, ...] = (0.5,),
    box_size: int = 368,
    params: DecodeParams = DecodeParams(),
) -> list[np.ndarray]:
    """All people in an RGB image as COCO-18 (18,3) arrays in image pixels, best-scoring first.

    `scales` multiply `box_size / image height` (ControlNet uses the single scale 0.5, CMU the four 0.5-2.0).
    """
    bgr = np.ascontiguousarray(image_rgb[:, :, ::-1])
    full = bgr.shape[:2]
    heat_sum = np.zeros((*full, N_HEATMAP), np.float32)
    paf_sum = np.zeros((*full, N_PAF), np.float32)
    weight = next(model.parameters())
    for s in scales:
        x, valid = preprocess(bgr, s * box_size / full[0])
        paf, heat = model(torch.from_numpy(x)[None].to(device=weight.device, dtype=weight.dtype))
        heat_sum += upsample_outputs(heat[0].float().cpu().numpy(), valid, full)
        paf_sum += upsample_outputs(paf[0].float().cpu().numpy(), valid, full)
    heat_avg, paf_avg = heat_sum / len(scales), paf_sum / len(scales)
    return assemble_people(find_peaks(heat_avg, params), paf_avg, params)

