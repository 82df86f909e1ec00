"""Coarse human parsing without a parser: regions from keypoint geometry inside the person mask,
written in LIP label ids (what SCHP-LIP writes) so downstream code reads one format.

It cannot tell skin from sleeves or trousers from bare legs: the torso is labelled upper-clothes, the
hips-to-ankles band pants, the limbs outside the torso arms, the head face and hair. The manifest marks
these maps `parsing_source=pose_geometry` so nobody mistakes them for SCHP output.
"""

from __future__ import annotations

import numpy as np

from components.annotate import geometry as g
from components.annotate.agnostic import LIP, BodyParts, _face, labels_in
from components.annotate.annotators.base import Annotator
from components.annotate.maps import BodyMaps
from components.annotate.params import MaskRules


class PoseGeometryParsing(Annotator):
    """LIP-id label map from BODY_25 keypoints and the person mask (no model)."""

    name = "pose_geometry"
    version = "1"
    provides = ("parse_lip",)
    settings_fields = ("mask",)  # the limb widths and margins it paints with

    def __init__(self, settings=None) -> None:
        super().__init__(settings)
        self.rules: MaskRules = settings.mask if settings is not None else MaskRules()

    def annotate(self, image: np.ndarray, prior: BodyMaps) -> BodyMaps:
        """The LIP label map of the person described by prior.keypoints_body25 and prior.person_mask."""
        if prior.keypoints_body25 is None or prior.person_mask is None:
            raise RuntimeError("pose_geometry parsing needs keypoints and a person mask from earlier annotators")
        return BodyMaps(parse_lip=parse_from_geometry(prior.keypoints_body25, prior.person_mask, self.rules))


def parse_from_geometry(keypoints: np.ndarray, person_mask: np.ndarray, rules: MaskRules) -> np.ndarray:
    """uint8 HxW LIP labels: paint order arms, legs, torso, shoes, then face and hair over everything."""
    shape = person_mask.shape
    person = np.asarray(person_mask, dtype=bool)  # no copy of a bool mask: it is only read
    sk = g.Skeleton(np.asarray(keypoints, dtype=np.float32))
    unit = sk.scale(fallback=0.25 * shape[1])
    parts = BodyParts.build(sk, shape, unit, rules, person)
    out = np.zeros(shape, np.uint8)
    rows, cols = np.flatnonzero(person.any(axis=1)), np.flatnonzero(person.any(axis=0))
    if rows.size == 0:
        return out
    # Every label lands on person pixels only: combine the regions inside the person's bounding box (views of
    # the full-frame rasters, so the same pixels), a fraction of the frame's area for each of the ~20 ops.
    box = (slice(rows[0], rows[-1] + 1), slice(cols[0], cols[-1] + 1))
    person, labels = person[box], out[box]

    arm_t = rules.arm_width * unit
    right_arm = (g.limb(shape, [sk.pt("RShoulder"), sk.pt("RElbow"), sk.pt("RWrist")], arm_t)[box]
                 | _hand(sk, "R", shape, rules, unit)[box])
    left_arm = (g.limb(shape, [sk.pt("LShoulder"), sk.pt("LElbow"), sk.pt("LWrist")], arm_t)[box]
                | _hand(sk, "L", shape, rules, unit)[box])
    labels[person & right_arm] = LIP["right_arm"]
    labels[person & left_arm] = LIP["left_arm"]
    labels[person & parts.legs[box] & ~(right_arm | left_arm)] = LIP["pants"]
    labels[person & parts.torso[box]] = LIP["upper_clothes"]
    # Person pixels no rule claimed: above the hips they are clothing on the torso, below it trousers.
    rest = person & (labels == 0)
    if parts.below_hem.any():  # anywhere in the frame, not only in the box
        below_hem = parts.below_hem[box]
        labels[rest & below_hem] = LIP["pants"]
        labels[rest & ~below_hem] = LIP["upper_clothes"]
    else:
        labels[rest] = LIP["upper_clothes"]
    for side, label in (("R", LIP["right_shoe"]), ("L", LIP["left_shoe"])):
        points = [sk.pt(name) for name in (f"{side}Ankle", f"{side}Heel", f"{side}BigToe")]
        feet = g.discs(shape, [pt for pt in points if pt is not None], rules.foot_radius * unit)[box]
        labels[person & feet & g.rows_below(shape, _lowest_knee(sk))[box]] = label
    face_c, rx, ry = _face(sk, unit)
    if face_c is not None:
        face = g.ellipse(shape, face_c, rx, ry)[box]
        above_chin = ~g.rows_below(shape, face_c[1] + ry)[box]
        labels[person & above_chin & ~face] = LIP["hair"]
        labels[person & face] = LIP["face"]
    return out


def _hand(sk: g.Skeleton, side: str, shape, rules: MaskRules, unit: float) -> np.ndarray:
    wrist, elbow = sk.pt(f"{side}Wrist"), sk.pt(f"{side}Elbow")
    if wrist is None:
        return g.blank(shape)
    centre = wrist + 0.35 * (wrist - elbow) if elbow is not None else wrist
    return g.disc(shape, centre, rules.hand_radius * unit)


def _lowest_knee(sk: g.Skeleton) -> float:
    knees = [p[1] for p in (sk.pt("RKnee"), sk.pt("LKnee")) if p is not None]
    return max(knees) if knees else 0.0


def relabel_for_category(parse: np.ndarray, category: str) -> np.ndarray:
    """A pose-geometry parse adjusted to the garment the person wears: a dress covers torso and legs."""
    if category != "dresses":
        return parse
    out = parse.copy()
    out[labels_in(parse, (LIP["upper_clothes"], LIP["pants"]))] = LIP["dress"]
    return out
