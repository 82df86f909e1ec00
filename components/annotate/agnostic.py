"""Agnostic masks (the region a try-on model repaints) and agnostic images, for the three categories.

Rules follow CatVTON's AutoMasker and IDM-VTON's masks: cover the garment region generously (torso and
arms for tops, waist to ankles for trousers and skirts, both for dresses) so the old garment's outline
is hidden, then carve out what must survive the try-on: face and hair, hands, feet, and the arms for
lower-body garments. Sizes scale with the shoulder width (params.yaml annotate.mask).

When Annotate II's SCHP (LIP + ATR) and DensePose maps are all present, the mask is built by
components/annotate/automasker.py instead; otherwise these keypoint rules run, widened by any LIP parse.
"""

from __future__ import annotations

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
    """The raster regions the category rules combine, built once per person."""

    def __init__(self, **regions: np.ndarray) -> None:
        self.__dict__.update(regions)

    @classmethod
    def build(cls, sk: g.Skeleton, shape: tuple[int, int], unit: float, p: MaskRules,
              person_mask: np.ndarray | None) -> "BodyParts":
        """Head, hands, feet, torso, arms and legs regions for one skeleton."""
        h, w = shape
        margin = p.torso_margin * unit
        rs, ls = sk.pt("RShoulder"), sk.pt("LShoulder")
        rh, lh, _ = sk.hips(p.hip_from_shoulder, unit)
        across = _unit_vector(ls - rs) if rs is not None and ls is not None else (
            _unit_vector(lh - rh) if rh is not None and lh is not None else np.array([1.0, 0.0]))

        face_c, rx, ry = _face(sk, unit)
        head = g.ellipse(shape, face_c, rx * 1.15, ry * 1.15) if face_c is not None else g.blank(shape)
        face_bottom = face_c[1] + ry if face_c is not None else 0.0
        if person_mask is not None and face_c is not None:
            head |= person_mask & ~g.rows_below(shape, face_bottom)  # hair above the chin line

        hands = g.blank(shape)
        for elbow, wrist in (("RElbow", "RWrist"), ("LElbow", "LWrist")):
            wp, ep = sk.pt(wrist), sk.pt(elbow)
            if wp is not None:
                centre = wp + 0.35 * (wp - ep) if ep is not None else wp
                hands |= g.disc(shape, centre, p.hand_radius * unit)
        feet = g.blank(shape)
        for name in ("RAnkle", "LAnkle", "RHeel", "LHeel", "RBigToe", "LBigToe"):
            if (pt := sk.pt(name)) is not None:
                feet |= g.disc(shape, pt, p.foot_radius * unit)

        arm_t = p.arm_width * unit
        arms = g.limb(shape, [rs, sk.pt("RElbow"), sk.pt("RWrist")], arm_t) | g.limb(
            shape, [ls, sk.pt("LElbow"), sk.pt("LWrist")], arm_t)

        torso = g.blank(shape)
        if rs is not None and ls is not None and rh is not None:
            collar_y = face_bottom + p.neck_margin * unit if face_c is not None else min(rs[1], ls[1]) - margin
            neck = (rs + ls) / 2
            pts = [rs - across * margin, ls + across * margin, lh + across * margin + [0, margin],
                   rh - across * margin + [0, margin],
                   np.array([neck[0] - 0.3 * unit, collar_y]), np.array([neck[0] + 0.3 * unit, collar_y])]
            torso = g.polygon(shape, pts)

        legs = g.blank(shape)
        torso_to_legs = g.blank(shape)
        above_waist = g.blank(shape)
        below_hem = g.blank(shape)
        if rh is not None and lh is not None:
            half = p.leg_width * unit / 2
            rk, lk = sk.pt("RKnee"), sk.pt("LKnee")
            rk_end = rk if rk is not None else g.extend_down(rh, None, h)
            lk_end = lk if lk is not None else g.extend_down(lh, None, h)
            r_ankle = sk.pt("RAnkle") if rk is not None else None
            l_ankle = sk.pt("LAnkle") if lk is not None else None
            if rk is not None and r_ankle is None:
                r_ankle = g.extend_down(rh, rk, h)  # shin leaves the photo: continue the thigh's line
            if lk is not None and l_ankle is None:
                l_ankle = g.extend_down(lh, lk, h)
            waist_y = min(rh[1], lh[1]) - margin
            thighs = g.polygon(shape, [rh - across * half, lh + across * half, lk_end + across * half,
                                       rk_end - across * half, np.array([rh[0], waist_y]), np.array([lh[0], waist_y])])
            shins = g.limb(shape, [rk_end, r_ankle], 2 * half) | g.limb(shape, [lk_end, l_ankle], 2 * half)
            legs = (thighs | shins) & g.rows_below(shape, waist_y)
            above_waist = ~g.rows_below(shape, waist_y)
            below_hem = g.rows_below(shape, max(rh[1], lh[1]) + 2 * margin)
            if rs is not None and ls is not None:
                torso_to_legs = g.polygon(shape, [rs - across * margin, ls + across * margin,
                                                  lk_end + across * half, rk_end - across * half])
        return cls(head=head, hands=hands, feet=feet, arms=arms, torso=torso, legs=legs,
                   torso_to_legs=torso_to_legs, above_waist=above_waist, below_hem=below_hem)


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
