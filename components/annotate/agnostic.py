"""Agnostic masks (the region a try-on model repaints) and agnostic images, for the three categories.

Rules follow CatVTON's AutoMasker and IDM-VTON's masks: cover the garment region generously (torso and
arms for tops, waist to ankles for trousers and skirts, both for dresses) so the old garment's outline
is hidden, then carve out what must survive the try-on: face and hair, hands, feet, and the arms for
lower-body garments. Sizes scale with the shoulder width (params.yaml annotate.mask).

When Annotate II's SCHP (LIP + ATR) and DensePose maps are all present, the mask is built by
components/annotate/automasker.py instead; otherwise these keypoint rules run, widened by any LIP parse.
"""

from __future__ import annotations

from functools import cached_property

import numpy as np

from components.annotate import geometry as g
from components.annotate.maps import BodyMaps
from components.annotate.params import MaskRules
from components.annotate.regions import (  # noqa: F401 - re-exported: callers import them from here
    GARMENT_LABELS,
    GREY,
    LIP,
    PROTECTED_LABELS,
    agnostic_image,
    labels_in,
)
from components.errors import Quarantine



def agnostic_mask(category: str, maps: BodyMaps, params: MaskRules, shape: tuple[int, int] | None = None,
                  valid: np.ndarray | None = None) -> np.ndarray:
    """The bool HxW agnostic mask for a person wearing a `category` garment; Quarantine when impossible.

    `valid` (bool HxW) limits the mask to the photo's pixels, e.g. off the letterbox padding.
    """
    mask = None
    if maps.has("parse_lip", "parse_atr", "densepose_parts"):
        try:
            from components.annotate import automasker
        except ImportError:
            automasker = None
        if automasker is not None:
            mask = np.asarray(automasker.agnostic_mask(category, maps, params), dtype=bool)
    if mask is None:
        mask = pose_geometry_mask(category, maps, params, shape)
    if valid is not None:
        mask = mask & valid
    covered = np.count_nonzero(mask) / mask.size  # == mask.mean(), ~10x faster on a bool map
    if covered < params.min_area_fraction:
        raise Quarantine(
            f"{category} agnostic mask too small ({covered:.1%} of the image): the garment region is not in the photo"
        )
    return mask


def agnostic_mask_sources(maps: BodyMaps) -> str:
    """Which maps (and annotators) build the agnostic mask for `maps`, for the manifest's mask_sources."""
    if maps.has("parse_lip", "parse_atr", "densepose_parts"):
        names = ("parse_lip", "parse_atr", "densepose_parts")
        return "automasker:" + "+".join(f"{n}({maps.sources.get(n, '?')})" for n in names)
    names = [n for n in ("keypoints_body25", "person_mask", "parse_lip") if getattr(maps, n) is not None]
    return "pose_rules:" + "+".join(f"{n}({maps.sources.get(n, '?')})" for n in names)


def pose_geometry_mask(
    category: str, maps: BodyMaps, params: MaskRules, shape: tuple[int, int] | None = None
) -> np.ndarray:
    """The agnostic mask from BODY_25 keypoints (plus person mask and LIP parse when present)."""
    if maps.keypoints_body25 is None:
        raise Quarantine("no keypoints: cannot build an agnostic mask")
    shape = shape or _shape_of(maps)
    h, w = shape
    sk = g.Skeleton(np.asarray(maps.keypoints_body25, dtype=np.float32))
    _check_required(category, sk, params)
    unit = sk.scale(fallback=0.25 * w)
    parts = BodyParts.build(sk, shape, unit, params, maps.person_mask)

    if category == "upper_body":
        region = parts.torso | parts.arms
        protect = parts.head | parts.hands | (parts.below_hem & ~parts.arms)
    elif category == "lower_body":
        region = parts.legs
        protect = parts.head | parts.hands | parts.arms | parts.feet | parts.above_waist
    elif category == "dresses":
        region = parts.torso | parts.arms | parts.legs | parts.torso_to_legs
        protect = parts.head | parts.hands | parts.feet
    else:
        raise Quarantine(f"unknown garment category {category!r}")

    if maps.parse_lip is not None:
        parse = np.asarray(maps.parse_lip)
        region = region | labels_in(parse, GARMENT_LABELS[category])
        protect = protect | labels_in(parse, PROTECTED_LABELS)
    return g.dilate(region, params.dilate_px) & ~protect


class BodyParts:
    """The raster regions the category rules combine, for one skeleton; each region is rasterised the first
    time a rule reads it (a category reads about half of them, the pose-geometry parser three)."""

    def __init__(self, sk: g.Skeleton, shape: tuple[int, int], unit: float, p: MaskRules,
                 person_mask: np.ndarray | None) -> None:
        self.sk, self.shape, self.unit, self.p, self.person_mask = sk, shape, unit, p, person_mask
        self.margin = p.torso_margin * unit
        self.rs, self.ls = sk.pt("RShoulder"), sk.pt("LShoulder")
        self.rh, self.lh, _ = sk.hips(p.hip_from_shoulder, unit)
        rs, ls, rh, lh = self.rs, self.ls, self.rh, self.lh
        self.across = _unit_vector(ls - rs) if rs is not None and ls is not None else (
            _unit_vector(lh - rh) if rh is not None and lh is not None else np.array([1.0, 0.0]))
        self.face_c, self.rx, self.ry = _face(sk, unit)
        self.face_bottom = self.face_c[1] + self.ry if self.face_c is not None else 0.0

    @classmethod
    def build(cls, sk: g.Skeleton, shape: tuple[int, int], unit: float, p: MaskRules,
              person_mask: np.ndarray | None) -> "BodyParts":
        """Head, hands, feet, torso, arms and legs regions for one skeleton."""
        return cls(sk, shape, unit, p, person_mask)

    @cached_property
    def head(self) -> np.ndarray:
        """Face ellipse, plus the person's pixels above the chin line (hair)."""
        shape = self.shape
        head = g.ellipse(shape, self.face_c, self.rx * 1.15, self.ry * 1.15) if self.face_c is not None else g.blank(shape)
        if self.person_mask is not None and self.face_c is not None:
            head |= self.person_mask & ~g.rows_below(shape, self.face_bottom)  # hair above the chin line
        return head

    @cached_property
    def hands(self) -> np.ndarray:
        """A disc past each wrist, along the forearm."""
        centres = []
        for elbow, wrist in (("RElbow", "RWrist"), ("LElbow", "LWrist")):
            wp, ep = self.sk.pt(wrist), self.sk.pt(elbow)
            if wp is not None:
                centres.append(wp + 0.35 * (wp - ep) if ep is not None else wp)
        return g.discs(self.shape, centres, self.p.hand_radius * self.unit)

    @cached_property
    def feet(self) -> np.ndarray:
        """A disc on each ankle, heel and big toe."""
        points = [self.sk.pt(name) for name in ("RAnkle", "LAnkle", "RHeel", "LHeel", "RBigToe", "LBigToe")]
        return g.discs(self.shape, [pt for pt in points if pt is not None], self.p.foot_radius * self.unit)

    @cached_property
    def arms(self) -> np.ndarray:
        """Shoulder-elbow-wrist limbs on both sides."""
        sk, arm_t = self.sk, self.p.arm_width * self.unit
        return g.limb(self.shape, [self.rs, sk.pt("RElbow"), sk.pt("RWrist")], arm_t) | g.limb(
            self.shape, [self.ls, sk.pt("LElbow"), sk.pt("LWrist")], arm_t)

    @cached_property
    def torso(self) -> np.ndarray:
        """Shoulders to hips, from the collar line down, widened by the torso margin."""
        rs, ls, rh, lh, across, margin, unit = self.rs, self.ls, self.rh, self.lh, self.across, self.margin, self.unit
        if rs is None or ls is None or rh is None:
            return g.blank(self.shape)
        collar_y = (self.face_bottom + self.p.neck_margin * unit if self.face_c is not None
                    else min(rs[1], ls[1]) - margin)
        neck = (rs + ls) / 2
        pts = [rs - across * margin, ls + across * margin, lh + across * margin + [0, margin],
               rh - across * margin + [0, margin],
               np.array([neck[0] - 0.3 * unit, collar_y]), np.array([neck[0] + 0.3 * unit, collar_y])]
        return g.polygon(self.shape, pts)

    @cached_property
    def _knees(self) -> tuple | None:
        """(half leg width, right and left knee ends, right and left ankles, waist row), or None without hips."""
        rh, lh, sk, h = self.rh, self.lh, self.sk, self.shape[0]
        if rh is None or lh is None:
            return None
        half = self.p.leg_width * self.unit / 2
        rk, lk = sk.pt("RKnee"), sk.pt("LKnee")
        rk_end = rk if rk is not None else g.extend_down(rh, None, h)
        lk_end = lk if lk is not None else g.extend_down(lh, None, h)
        r_ankle = sk.pt("RAnkle") if rk is not None else None
        l_ankle = sk.pt("LAnkle") if lk is not None else None
        if rk is not None and r_ankle is None:
            r_ankle = g.extend_down(rh, rk, h)  # shin leaves the photo: continue the thigh's line
        if lk is not None and l_ankle is None:
            l_ankle = g.extend_down(lh, lk, h)
        return half, rk_end, lk_end, r_ankle, l_ankle, min(rh[1], lh[1]) - self.margin

    @cached_property
    def legs(self) -> np.ndarray:
        """Waist to ankles (thighs and shins)."""
        if self._knees is None:
            return g.blank(self.shape)
        half, rk_end, lk_end, r_ankle, l_ankle, waist_y = self._knees
        rh, lh, across, shape = self.rh, self.lh, self.across, self.shape
        thighs = g.polygon(shape, [rh - across * half, lh + across * half, lk_end + across * half,
                                   rk_end - across * half, np.array([rh[0], waist_y]), np.array([lh[0], waist_y])])
        shins = g.limb(shape, [rk_end, r_ankle], 2 * half) | g.limb(shape, [lk_end, l_ankle], 2 * half)
        return (thighs | shins) & g.rows_below(shape, waist_y)

    @cached_property
    def torso_to_legs(self) -> np.ndarray:
        """Shoulders to knees (a dress's outline)."""
        if self._knees is None or self.rs is None or self.ls is None:
            return g.blank(self.shape)
        half, rk_end, lk_end = self._knees[:3]
        across, margin = self.across, self.margin
        return g.polygon(self.shape, [self.rs - across * margin, self.ls + across * margin,
                                      lk_end + across * half, rk_end - across * half])

    @cached_property
    def above_waist(self) -> np.ndarray:
        """Every row above the waist line."""
        if self._knees is None:
            return g.blank(self.shape)
        return ~g.rows_below(self.shape, self._knees[-1])

    @cached_property
    def below_hem(self) -> np.ndarray:
        """Every row below the hips plus two margins."""
        if self.rh is None or self.lh is None:
            return g.blank(self.shape)
        return g.rows_below(self.shape, max(self.rh[1], self.lh[1]) + 2 * self.margin)


def _check_required(category: str, sk: g.Skeleton, p: MaskRules) -> None:
    if category in ("upper_body", "dresses") and not sk.has("RShoulder", "LShoulder"):
        raise Quarantine(f"{category}: shoulders not visible")
    for names, required, what in (
        (("RHip", "LHip"), p.require_hips, "hips"),
        (("RKnee", "LKnee"), p.require_knees, "knees"),
        (("RAnkle", "LAnkle"), p.require_ankles, "ankles"),
    ):
        if category in required and not sk.has(*names):
            raise Quarantine(f"{category}: {what} not visible (required by annotate.mask.require_{what})")
    if category == "lower_body" and not sk.has("RHip", "LHip") and not sk.has("RShoulder", "LShoulder"):
        raise Quarantine("lower_body: neither hips nor shoulders visible")


def _face(sk: g.Skeleton, unit: float) -> tuple[np.ndarray | None, float, float]:
    """Face centre and ellipse radii from nose, eyes and ears (or above the neck when none is seen)."""
    pts = [sk.pt(n) for n in ("Nose", "REye", "LEye", "REar", "LEar")]
    pts = [p for p in pts if p is not None]
    if pts:
        centre = np.mean(pts, axis=0)
    elif (neck := sk.pt("Neck")) is not None:
        centre = neck - [0, 0.45 * unit]
    else:
        return None, 0.0, 0.0
    rear, lear = sk.pt("REar"), sk.pt("LEar")
    rx = 0.6 * float(np.linalg.norm(rear - lear)) if rear is not None and lear is not None else 0.28 * unit
    rx = max(rx, 0.2 * unit)
    return centre, rx, 1.3 * rx


def _unit_vector(v: np.ndarray) -> np.ndarray:
    n = float(np.linalg.norm(v))
    return v / n if n > 1e-6 else np.array([1.0, 0.0])


def _shape_of(maps: BodyMaps) -> tuple[int, int]:
    for name in ("person_mask", "parse_lip", "parse_atr", "densepose_parts"):
        value = getattr(maps, name)
        if value is not None:
            return tuple(np.asarray(value).shape[:2])
    raise ValueError("agnostic_mask needs `shape` when maps hold no image-sized map")
