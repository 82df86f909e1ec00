"""A drawn dress rendered onto a real studio photograph: the bundled sample's dress-wearing photos.

No photo that ships in an installed package shows a person in a dress (openvto, scikit-image, matplotlib and
scikit-learn were searched, and the wheels of other openvto versions), so the sample makes its dresses as
documented composites: a real person's studio shot with a dress drawn on the body from the shoulders to below
the knees. The dress follows the person: its long sleeves and bodice are the person's own silhouette (the
backdrop-free mask of the studio shot), its neckline, waist seam, cuffs and A-line skirt are placed from the
body joints, and the hands stay in front of it. It is shaded (rounded towards its edges, folds fanning down the
skirt, a soft light from one side, a seam at the waist, a shadow on the legs under the hem, the fabric's grain
from a CC0 texture) so it reads as cloth, not as a flat sticker.

The joints are numbers written here (measured once with MediaPipe pose and rounded), not a model's output at
build time, so the composite is byte-identical on every machine. Pure array functions: sample_data.py loads the
photo and writes the files.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

Point = tuple[int, int]


@dataclass(frozen=True)
class BodyPoints:
    """Joints of one studio shot in its original pixels (x right, y down); `r_` is the person's right side."""

    r_shoulder: Point
    l_shoulder: Point
    r_elbow: Point
    l_elbow: Point
    r_wrist: Point
    l_wrist: Point
    r_hip: Point
    l_hip: Point
    r_knee: Point
    l_knee: Point


@dataclass(frozen=True)
class DrawnDress:
    """A dress to draw on one person's studio shot; `key` names its garment, `photo` the studio shot."""

    key: str
    photo: str
    colour: tuple[int, int, int]
    texture: str  # a scikit-image texture (CC0) that gives the fabric its grain
    flare: float  # hem half-width over the skirt's half-width at the hips
    hem: float  # how far below the knees the hem falls, as a share of hip-to-knee length
    folds: int  # skirt folds across the hem
    description: str


# Measured on the 768x1376 studio shots (openvto avatars/<n>.png) with MediaPipe pose (complexity 1), rounded.
BODY_POINTS: dict[str, BodyPoints] = {
    "p1_studio": BodyPoints((291, 396), (503, 385), (251, 577), (543, 566), (227, 724), (521, 728), (321, 738),
                            (445, 734), (332, 973), (462, 981)),
    "p2_studio": BodyPoints((276, 377), (499, 383), (246, 558), (533, 565), (231, 720), (538, 726), (315, 720),
                            (448, 717), (336, 990), (503, 981)),
    "p3_studio": BodyPoints((254, 395), (532, 372), (225, 635), (578, 608), (218, 842), (583, 823), (319, 840),
                            (485, 837), (348, 1170), (513, 1185)),
    "p4_studio": BodyPoints((294, 363), (511, 359), (272, 553), (534, 546), (256, 723), (539, 711), (331, 705),
                            (463, 702), (341, 974), (454, 975)),
}

NECK_HALF_WIDTH = 0.24  # of shoulder width: the neckline's half-width
NECK_DEPTH = 0.18  # of shoulder width: how far the scoop neckline dips below the shoulder line
SHOULDER_RISE = 0.22  # of shoulder width: the dress covers the shoulders this far above the joints
SLEEVE_HALF_WIDTH = 0.17  # of shoulder width, around the forearm: the sleeve below the hips
HAND_HALF_WIDTH = 0.13  # of shoulder width, around the forearm's line beyond the wrist
HAND_LENGTH = 0.6  # of shoulder width, beyond the wrist
CUFF_PAST_WRIST = 0.11  # of shoulder width: the sleeve ends past the wrist joint (which sits inside a sleeve)
SKIRT_HIP_HALF_WIDTH = 0.8  # of the hip joints' distance: the skirt's half-width where it starts
WAIST = 0.62  # the waist seam's height between shoulder line (0) and hips (1)


def _line_y(a: Point, b: Point, xs: np.ndarray) -> np.ndarray:
    """y of the line through a and b at each x."""
    slope = (b[1] - a[1]) / (b[0] - a[0]) if b[0] != a[0] else 0.0
    return a[1] + slope * (xs - a[0])


def _hand(shape: tuple[int, int], elbow: Point, wrist: Point, sw: float) -> np.ndarray:
    """A band along the forearm's line from the cuff, just past the wrist, to past the fingertips: the hand."""
    h, w = shape
    ys, xs = np.mgrid[0:h, 0:w].astype(np.float32)
    axis = np.array(wrist, np.float32) - np.array(elbow, np.float32)
    axis /= max(float(np.hypot(*axis)), 1.0)
    dx, dy = xs - wrist[0], ys - wrist[1]
    along = dx * axis[0] + dy * axis[1]
    across = np.abs(dx * axis[1] - dy * axis[0])
    return (along > CUFF_PAST_WRIST * sw) & (along < HAND_LENGTH * sw) & (across < HAND_HALF_WIDTH * sw)


def _forearm(shape: tuple[int, int], elbow: Point, wrist: Point, sw: float) -> np.ndarray:
    """A band along the forearm from the elbow to the cuff just past the wrist: the sleeve's lower part."""
    h, w = shape
    ys, xs = np.mgrid[0:h, 0:w].astype(np.float32)
    axis = np.array(wrist, np.float32) - np.array(elbow, np.float32)
    length = max(float(np.hypot(*axis)), 1.0)
    axis /= length
    dx, dy = xs - elbow[0], ys - elbow[1]
    along = dx * axis[0] + dy * axis[1]
    across = np.abs(dx * axis[1] - dy * axis[0])
    return (along > 0) & (along <= length + CUFF_PAST_WRIST * sw) & (across < SLEEVE_HALF_WIDTH * sw)


def dress_region(person: np.ndarray, pts: BodyPoints, dress: DrawnDress) -> np.ndarray:
    """Where the dress shows: the person's silhouette from the neckline to the hips (sleeves and bodice), an
    A-line skirt from the hips to below the knees, minus the hands."""
    import cv2

    h, w = person.shape
    sw = float(np.hypot(pts.l_shoulder[0] - pts.r_shoulder[0], pts.l_shoulder[1] - pts.r_shoulder[1]))
    xs = np.arange(w, dtype=np.float32)
    cx = (pts.l_shoulder[0] + pts.r_shoulder[0]) / 2
    top = _line_y(pts.r_shoulder, pts.l_shoulder, xs) - SHOULDER_RISE * sw
    inside = np.abs(xs - cx) < NECK_HALF_WIDTH * sw
    dip = (SHOULDER_RISE + NECK_DEPTH) * sw * np.sqrt(np.clip(1 - ((xs - cx) / (NECK_HALF_WIDTH * sw)) ** 2, 0, 1))
    top = np.where(inside, top + dip, top)
    hip_y = (pts.l_hip[1] + pts.r_hip[1]) / 2
    rows = np.arange(h, dtype=np.float32)[:, None]
    bodice = person & (rows >= top[None, :]) & (rows <= hip_y + 2)
    sleeves = person & (_forearm(person.shape, pts.r_elbow, pts.r_wrist, sw)
                        | _forearm(person.shape, pts.l_elbow, pts.l_wrist, sw))

    skirt = np.zeros((h, w), np.uint8)
    hip_cx = (pts.l_hip[0] + pts.r_hip[0]) / 2
    half_top = SKIRT_HIP_HALF_WIDTH * abs(pts.l_hip[0] - pts.r_hip[0])
    knee_y = (pts.l_knee[1] + pts.r_knee[1]) / 2
    hem_y = knee_y + dress.hem * (knee_y - hip_y)
    half_hem = dress.flare * half_top
    arc = [(hip_cx + half_hem * t, hem_y + 0.05 * sw * (1 - t * t)) for t in np.linspace(1, -1, 25)]
    polygon = [(hip_cx - half_top, hip_y), (hip_cx + half_top, hip_y), *arc]
    cv2.fillPoly(skirt, [np.round(np.array(polygon)).astype(np.int32)], 1)
    legs = person & (rows > hip_y) & (skirt > 0)

    hands = (_hand(person.shape, pts.r_elbow, pts.r_wrist, sw) | _hand(person.shape, pts.l_elbow, pts.l_wrist, sw))
    region = (bodice | sleeves | (skirt > 0) | legs) & ~(hands & person)  # the hands stay in front of the dress
    region = cv2.morphologyEx(region.astype(np.uint8), cv2.MORPH_OPEN, np.ones((5, 5), np.uint8)) > 0
    _, labels, stats, _ = cv2.connectedComponentsWithStats(region.astype(np.uint8), connectivity=8)
    return labels == 1 + int(np.argmax(stats[1:, cv2.CC_STAT_AREA]))


def dress_shading(region: np.ndarray, pts: BodyPoints, dress: DrawnDress, grain: np.ndarray) -> np.ndarray:
    """A float shading map (about 0.6-1.15) over `region`: rounded edges, skirt folds, light, waist seam, grain."""
    import cv2

    h, w = region.shape
    sw = float(np.hypot(pts.l_shoulder[0] - pts.r_shoulder[0], pts.l_shoulder[1] - pts.r_shoulder[1]))
    ys, xs = np.mgrid[0:h, 0:w].astype(np.float32)
    # Cloth turns away from the light towards its silhouette: darker near the edges of the region.
    depth = cv2.distanceTransform(region.astype(np.uint8), cv2.DIST_L2, 5)
    rounded = 0.62 + 0.38 * np.sqrt(np.clip(depth / (0.18 * sw), 0, 1))
    # Folds fan out down the skirt from a point above the waist, deeper towards the hem.
    hip_y = (pts.l_hip[1] + pts.r_hip[1]) / 2
    knee_y = (pts.l_knee[1] + pts.r_knee[1]) / 2
    hem_y = knee_y + dress.hem * (knee_y - hip_y)
    hip_cx = (pts.l_hip[0] + pts.r_hip[0]) / 2
    apex_y = hip_y - 0.8 * (hem_y - hip_y)
    angle = np.arctan2(xs - hip_cx, np.maximum(ys - apex_y, 1.0))
    spread = float(np.arctan2(dress.flare * SKIRT_HIP_HALF_WIDTH * abs(pts.l_hip[0] - pts.r_hip[0]), hem_y - apex_y))
    phase = angle / spread * np.pi * dress.folds / 2
    depth_down = np.clip((ys - hip_y) / (hem_y - hip_y), 0, 1) ** 0.8
    folds = 1 + depth_down * (0.13 * np.sin(phase) + 0.05 * np.sin(2.3 * phase + 1.0))
    # Soft light from the photo's left and from above.
    shoulder_y = (pts.l_shoulder[1] + pts.r_shoulder[1]) / 2
    light = 1 - 0.06 * (xs - hip_cx) / sw - 0.05 * (ys - shoulder_y) / (hem_y - shoulder_y)
    waist_y = shoulder_y + WAIST * (hip_y - shoulder_y)
    seam = 1 - 0.14 * np.exp(-(((ys - waist_y) / (0.012 * sw)) ** 2)) + 0.03 * np.exp(-(((ys - waist_y - 0.03 * sw)
                                                                                           / (0.02 * sw)) ** 2))
    grain = cv2.GaussianBlur(grain.astype(np.float32), (0, 0), 1.2)
    texture = 1 + np.clip(0.03 * (grain - grain.mean()) / max(float(grain.std()), 1e-6), -0.07, 0.07)
    return (rounded * folds * light * seam * texture).astype(np.float32)


def render_dress(photo: np.ndarray, person: np.ndarray, pts: BodyPoints, dress: DrawnDress,
                 grain: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(composite RGB, where the dress shows): `dress` drawn onto `photo` (HxWx3 uint8) over the person's
    silhouette `person` (HxW bool), shaded, with soft edges and a shadow on the legs under the hem."""
    import cv2

    region = dress_region(person, pts, dress)
    shade = dress_shading(region, pts, dress, grain)
    cloth = np.clip(np.array(dress.colour, np.float32)[None, None, :] * shade[..., None], 0, 255)
    out = photo.astype(np.float32)
    # A shadow the skirt casts on the legs just below the hem.
    sw = float(np.hypot(pts.l_shoulder[0] - pts.r_shoulder[0], pts.l_shoulder[1] - pts.r_shoulder[1]))
    below = np.zeros(region.shape, np.float32)
    bottom = np.where(region.any(axis=0), region.shape[0] - 1 - np.argmax(region[::-1], axis=0), -1)
    ys = np.arange(region.shape[0], dtype=np.float32)[:, None]
    gap = ys - bottom[None, :]
    below[(gap > 0) & (gap < 0.07 * sw) & (bottom[None, :] > 0)] = 1
    below *= person
    fade = np.clip(gap / (0.07 * sw), 0, 1)
    out *= (1 - 0.3 * below * (1 - fade))[..., None]
    alpha = cv2.GaussianBlur(region.astype(np.float32), (0, 0), 1.0)[..., None]
    out = out * (1 - alpha) + cloth * alpha
    return np.round(out).astype(np.uint8), region
