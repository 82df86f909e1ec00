"""The second looks a single-person pose model needs on real photos (pure image and landmark maths).

MediaPipe Pose reports at most one person and misses some people it would find in a slightly different
image. Two second looks follow from that:
- another person: hide the person found (a silhouette drawn from their landmarks, not their person-mask
  blob: people who touch share one blob) and run pose again on what is left;
- nobody found: run pose again on the obvious variants of the photo (contrast equalised, cropped to the
  person mask, upscaled), mapping the landmarks back to the photo.
Landmarks here are MediaPipe's 33 x (x, y, visibility), x and y normalised to the image they were found on.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import cv2
import numpy as np

# MediaPipe landmark indices.
NOSE, L_EAR, R_EAR, L_SHOULDER, R_SHOULDER, L_HIP, R_HIP = 0, 7, 8, 11, 12, 23, 24
# The bones a hiding silhouette is drawn along: arms, torso sides, legs, feet.
BONES: tuple[tuple[int, int], ...] = ((11, 13), (13, 15), (12, 14), (14, 16), (11, 23), (12, 24), (23, 24),
                                      (23, 25), (25, 27), (24, 26), (26, 28), (27, 31), (28, 32), (11, 12))

# What the manifest's pose_attempt column says found the person, in the order they are tried.
ORIGINAL = "original"
EQUALISED = "equalised"
PERSON_CROP = "person_crop"
UPSCALED_2X = "upscaled_2x"
ATTEMPTS: tuple[str, ...] = (ORIGINAL, EQUALISED, PERSON_CROP, UPSCALED_2X)

# A photo whose channels differ by less than this on average (0-255 levels) is greyscale: JPEG chroma
# noise keeps a greyscale photo saved as RGB a level or so off exact equality.
GREYSCALE_MEAN_SPREAD = 2.0
# The hiding silhouette's limb thickness and head radius, as fractions of the shoulder width: the landmarks
# are joints, the body and its clothes extend beyond them.
LIMB_WIDTH, HEAD_RADIUS = 0.45, 0.6
HIDE_GREY = 128
CROP_MARGIN = 0.10  # around the person-mask box, as a fraction of its height
MIN_CROP_SIDE = 32  # smaller crops are not worth a pose pass


@dataclass(frozen=True)
class Variant:
    """One input to try: the image and how its normalised landmarks map back to the original photo."""

    attempt: str
    image: np.ndarray
    x0: float = 0.0  # the variant's left edge in the photo, as a fraction of the photo's width
    y0: float = 0.0
    sx: float = 1.0  # the variant's width as a fraction of the photo's width
    sy: float = 1.0

    def to_photo(self, lms: np.ndarray) -> np.ndarray:
        """`lms` found on this variant, normalised to the original photo."""
        out = lms.copy()
        out[:, 0] = self.x0 + lms[:, 0] * self.sx
        out[:, 1] = self.y0 + lms[:, 1] * self.sy
        return out


def is_greyscale(image: np.ndarray) -> bool:
    """True when the RGB photo carries no colour (every pixel's channels about equal)."""
    small = image[::4, ::4].astype(np.int16)  # a quarter of the rows and columns decide it as well as all
    spread = small.max(axis=2) - small.min(axis=2)
    return float(spread.mean()) < GREYSCALE_MEAN_SPREAD


def equalised(image: np.ndarray) -> np.ndarray:
    """The photo with its luminance histogram equalised (colour kept): lifts faded and low-contrast prints."""
    ycc = cv2.cvtColor(image, cv2.COLOR_RGB2YCrCb)
    ycc[..., 0] = cv2.equalizeHist(np.ascontiguousarray(ycc[..., 0]))
    return cv2.cvtColor(ycc, cv2.COLOR_YCrCb2RGB)


def retry_variants(image: np.ndarray, person_mask: np.ndarray | None) -> Iterator[Variant]:
    """The second attempts after the original found nobody, in ATTEMPTS order (the crop only with a mask)."""
    h, w = image.shape[:2]
    yield Variant(EQUALISED, equalised(image))
    if person_mask is not None and person_mask.any():
        ys, xs = np.nonzero(person_mask)
        margin = CROP_MARGIN * (ys.max() - ys.min() + 1)
        x0, x1 = max(0, int(xs.min() - margin)), min(w, int(xs.max() + margin) + 1)
        y0, y1 = max(0, int(ys.min() - margin)), min(h, int(ys.max() + margin) + 1)
        if min(x1 - x0, y1 - y0) >= MIN_CROP_SIDE and (x1 - x0) * (y1 - y0) < 0.9 * w * h:
            yield Variant(PERSON_CROP, np.ascontiguousarray(image[y0:y1, x0:x1]),
                          x0 / w, y0 / h, (x1 - x0) / w, (y1 - y0) / h)
    yield Variant(UPSCALED_2X, cv2.resize(image, (2 * w, 2 * h), interpolation=cv2.INTER_CUBIC))


def body_silhouette(lms: np.ndarray, w: int, h: int) -> np.ndarray:
    """Bool h x w mask of a person drawn from their landmarks (thick limbs, torso, head): the region that
    hides them. A silhouette, not a box: a box over someone who overlaps another hides both."""
    pts = np.stack([lms[:, 0] * w, lms[:, 1] * h], axis=1)
    width = float(np.hypot(*(pts[L_SHOULDER] - pts[R_SHOULDER])))
    out = np.zeros((h, w), dtype=np.uint8)
    thickness = max(3, int(LIMB_WIDTH * width))
    for a, b in BONES:
        cv2.line(out, _pt(pts[a]), _pt(pts[b]), 1, thickness)
    cv2.fillPoly(out, [np.round(pts[[L_SHOULDER, R_SHOULDER, R_HIP, L_HIP]]).astype(np.int32)], 1)
    cv2.circle(out, _pt(pts[[NOSE, L_EAR, R_EAR]].mean(axis=0)), max(2, int(HEAD_RADIUS * width)), 1, -1)
    return out.astype(bool)


def _pt(xy: np.ndarray) -> tuple[int, int]:
    # Landmarks of limbs outside the photo can be far off; clamp so OpenCV's int conversion never overflows.
    return int(np.clip(xy[0], -1e5, 1e5)), int(np.clip(xy[1], -1e5, 1e5))


def same_person(a: np.ndarray, b: np.ndarray, w: int, h: int) -> bool:
    """True when two poses are one person found twice (mid-shoulders closer than half a shoulder width)."""
    def mid(lms: np.ndarray) -> np.ndarray:
        return (lms[L_SHOULDER, :2] + lms[R_SHOULDER, :2]) / 2 * (w, h)

    width = float(np.hypot((a[L_SHOULDER, 0] - a[R_SHOULDER, 0]) * w, (a[L_SHOULDER, 1] - a[R_SHOULDER, 1]) * h))
    return float(np.hypot(*(mid(a) - mid(b)))) < 0.5 * width


def body_size(lms: np.ndarray, w: int, h: int, min_visibility: float = 0.5) -> float:
    """A person's size in pixels: shoulder width, or mid-shoulder to mid-hip when both hips are seen in the
    photo, whichever is larger (hips below the frame are extrapolated by the model: no measure of size)."""
    shoulders = (lms[L_SHOULDER, :2] + lms[R_SHOULDER, :2]) / 2
    size = float(np.hypot((lms[L_SHOULDER, 0] - lms[R_SHOULDER, 0]) * w, (lms[L_SHOULDER, 1] - lms[R_SHOULDER, 1]) * h))
    hip_pts = lms[[L_HIP, R_HIP]]
    if (hip_pts[:, 2] >= min_visibility).all() and ((hip_pts[:, :2] >= 0) & (hip_pts[:, :2] <= 1)).all():
        hips = hip_pts[:, :2].mean(axis=0)
        size = max(size, float(np.hypot((shoulders[0] - hips[0]) * w, (shoulders[1] - hips[1]) * h)))
    return size


def shoulders_seen(lms: np.ndarray, min_visibility: float) -> bool:
    """True when both shoulders are visible inside the photo: a body, not a face or a hand."""
    pts = lms[[L_SHOULDER, R_SHOULDER]]
    return bool((pts[:, 2] >= min_visibility).all() and ((pts[:, :2] >= 0) & (pts[:, :2] <= 1)).all())


def hidden(image: np.ndarray, region: np.ndarray) -> np.ndarray:
    """A copy of `image` with `region` painted flat grey, so the pose model looks elsewhere."""
    out = image.copy()
    out[region] = HIDE_GREY
    return out
