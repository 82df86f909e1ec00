"""params.yaml section for the annotate step."""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from components.config.base import Section
from components.executors.params import RayExecutorParams

Category = Literal["upper_body", "lower_body", "dresses"]


class PoseRules(Section):
    """When a detected pose counts as one usable person."""

    min_detection_confidence: float = Field(default=0.5, ge=0, le=1)
    # A landmark below this visibility (or outside the photo) is written as missing (zeros).
    min_keypoint_visibility: float = Field(default=0.5, ge=0, le=1)
    # Several-people check: person-mask pixels left outside the people found, at least this fraction of the
    # image and of the main person's mask, earn another pose pass with the people found hidden ...
    other_person_min_area: float = Field(default=0.02, gt=0, lt=1)
    other_person_min_ratio: float = Field(default=0.1, gt=0, le=1)
    # ... and a pose found there is a second person when its size (shoulder width, or shoulder-to-hip when the
    # hips are seen) is at least this fraction of the main person's; smaller ones are passers-by in the
    # background, hidden in turn before looking again.
    other_person_min_size: float = Field(default=0.35, gt=0, le=1)
    person_mask_threshold: float = Field(default=0.5, gt=0, lt=1)


class AutoMaskerRules(Section):
    """CatVTON AutoMasker constants (used when SCHP LIP + ATR and DensePose maps exist); sizes scale with the image."""

    dilate_divisor: int = Field(default=250, gt=0)  # dilation kernel = max(h, w) // this, made odd
    blur_divisor: int = Field(default=25, gt=0)  # Gaussian blur kernel = max(h, w) // this, made odd
    blur_threshold: int = Field(default=25, ge=0, le=255)  # blurred mask (0-255) kept where >= this
    dense_dilate_iterations: int = Field(default=2, ge=0)  # DensePose area grown at 1/4 scale this often


class MaskRules(Section):
    """Agnostic-mask geometry (CatVTON AutoMasker / IDM-VTON style), as fractions of shoulder width."""

    arm_width: float = Field(default=0.32, gt=0)  # limb thickness for the arm regions
    leg_width: float = Field(default=0.45, gt=0)  # thigh thickness for the leg regions
    torso_margin: float = Field(default=0.12, ge=0)  # how far the torso polygon grows beyond the joints
    hand_radius: float = Field(default=0.22, gt=0)  # protected disc around each hand
    foot_radius: float = Field(default=0.22, gt=0)
    neck_margin: float = Field(default=0.10, ge=0)  # mask starts this far below the face's lower edge
    hip_from_shoulder: float = Field(default=1.35, gt=0)  # estimated shoulder-to-hip drop when hips are unseen
    dilate_px: int = Field(default=9, ge=0)  # grow the mask so the old garment's outline is hidden
    # Categories quarantined when these points are not seen (smoke photos end above the knees).
    require_hips: list[Category] = Field(default_factory=list)
    require_knees: list[Category] = Field(default_factory=list)
    require_ankles: list[Category] = Field(default_factory=list)
    min_area_fraction: float = Field(default=0.01, ge=0, lt=1)  # smaller agnostic masks are quarantined
    automasker: AutoMaskerRules = AutoMaskerRules()


class ClothMaskRules(Section):
    """Garment product-image segmentation (background from the border colour)."""

    border_px: int = Field(default=6, gt=0)
    color_distance: float = Field(default=28.0, gt=0)  # Lab distance from the background colour
    min_area_fraction: float = Field(default=0.02, gt=0, lt=1)


class SchpParams(Section):
    """SCHP human parsing (backend schp_lip+schp_atr; weights schp_lip and schp_atr from the model store)."""

    # Network input side; None = the published sizes (LIP 473, ATR 512). Smaller is faster and less accurate.
    input_size: int | None = Field(default=None, gt=0)
    device: Literal["auto", "cpu", "cuda"] = "auto"
    half: bool = True  # float16 on CUDA (argmax of the logits is stable under it); CPU always float32
    batch_size: int = Field(default=8, gt=0)


class DensePoseParams(Section):
    """DensePose R50-FPN s1x (backend densepose_r50: the .pkl in PyTorch; densepose_r50_onnx: its ONNX export in
    onnxruntime). Weights densepose_r50_fpn_s1x, or densepose_r50_fpn_s1x_onnx.* from the model store."""

    min_score: float = Field(default=0.8, ge=0, le=1)  # person score CatVTON keeps
    min_size: int = Field(default=800, gt=0)  # detectron2 test resize (short side / long-side cap)
    max_size: int = Field(default=1333, gt=0)
    device: Literal["auto", "cpu", "cuda"] = "auto"
    half: bool = False  # the detector's box regression is sensitive; float16 only when asked (PyTorch runtime)
    batch_size: int = Field(default=8, gt=0)
    onnx_threads: int = Field(default=0, ge=0)  # onnxruntime intra-op threads; 0 = its default (all cores)


class OpenPoseParams(Section):
    """OpenPose body network (backend openpose; weights openpose_body_pose_model, the COCO-18 body model)."""

    scales: list[float] = Field(default_factory=lambda: [0.5])  # ControlNet uses 0.5; CMU 0.5, 1.0, 1.5, 2.0
    box_size: int = Field(default=368, gt=0)
    device: Literal["auto", "cpu", "cuda"] = "auto"
    half: bool = True


class AnnotateParams(Section):
    """Which annotators run, at what size, with how many workers, and the mask rules."""

    pose: Literal["mediapipe", "openpose"] = "mediapipe"
    parsing: Literal["pose_geometry", "schp_lip+schp_atr"] = "pose_geometry"
    densepose: Literal["none", "densepose_r50", "densepose_r50_onnx"] = "none"
    width: int = Field(default=384, gt=0)
    height: int = Field(default=512, gt=0)
    workers: int = Field(default=1, ge=1)
    shard_size: int = Field(default=16, gt=0)
    # local: this machine's process pool (`workers`); ray: Ray actors on the cluster RAY_ADDRESS names (`ray`).
    executor: Literal["local", "ray"] = "local"
    ray: RayExecutorParams = RayExecutorParams()
    # Outside DVC's outputs so `dvc repro` (which deletes outs first) never throws the model results away.
    cache_dir: str = ".cache/annotate"
    overlay_samples: int = Field(default=4, ge=0)  # people per category on the overlay sheet
    pose_rules: PoseRules = PoseRules()
    mask: MaskRules = MaskRules()
    cloth_mask: ClothMaskRules = ClothMaskRules()
    # Annotate II research models (used only when pose/parsing/densepose select them).
    schp: SchpParams = SchpParams()
    densepose_model: DensePoseParams = DensePoseParams()
    openpose: OpenPoseParams = OpenPoseParams()
