"""Is a product image a person wearing the garment, the garment alone, or neither for sure?

The annotate step's two MediaPipe 0.10.21 models (offline, catalogued weights): BlazePose (model_complexity=1)
finds a body, selfie segmentation measures how much of the frame is a person. They must agree; disagreement
is ambiguous.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from PIL import Image

# MediaPipe pose landmark indices used to decide that a body is really there.
LEFT_SHOULDER, RIGHT_SHOULDER = 11, 12
DETECT_SIDE = 512  # images are downscaled to this longest side first: the models run at 256 px anyway


@dataclass(frozen=True)
class ImageKind:
    """The verdict on one image and the evidence behind it."""

    kind: str  # person | garment | ambiguous
    reason: str
    shoulder_visibility: float
    person_fraction: float


class PersonDetector:
    """Classify images as person / garment / ambiguous; not thread-safe (MediaPipe graphs), use one per thread."""

    def __init__(self, min_visibility: float = 0.5, min_person_fraction: float = 0.05) -> None:
        from components.annotate.annotators.mediapipe_pose import MediaPipePose
        from components.annotate.annotators.selfie_segmentation import SelfieSegmentation

        self.min_visibility = min_visibility
        self.min_person_fraction = min_person_fraction
        self._pose = MediaPipePose()
        self._seg = SelfieSegmentation()

    def close(self) -> None:
        """Free the MediaPipe graphs."""
        self._pose.close()
        self._seg.close()

    def __enter__(self) -> "PersonDetector":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def classify(self, image: Image.Image) -> ImageKind:
        """The kind of `image` (RGB)."""
        img = image.convert("RGB")
        if max(img.size) > DETECT_SIDE:
            img = img.copy()
            img.thumbnail((DETECT_SIDE, DETECT_SIDE), Image.BILINEAR)
        rgb = np.ascontiguousarray(np.asarray(img))
        marks = self._pose.landmarks(rgb)  # 33 x (x, y, visibility), or None
        visibility = 0.0 if marks is None else float(min(marks[LEFT_SHOULDER, 2], marks[RIGHT_SHOULDER, 2]))
        fraction = float((self._seg.probability(rgb) > self._seg.threshold).mean())
        return decide(visibility, fraction, self.min_visibility, self.min_person_fraction)


def decide(shoulder_visibility: float, person_fraction: float, min_visibility: float, min_fraction: float) -> ImageKind:
    """Combine the two detectors' evidence into a verdict (pure, so the rule is testable on its own)."""
    has_body = shoulder_visibility >= min_visibility
    has_person_pixels = person_fraction >= min_fraction
    evidence = f"shoulder visibility {shoulder_visibility:.2f}, person pixels {person_fraction:.0%}"
    if has_body and has_person_pixels:
        return ImageKind("person", f"person wearing ({evidence})", shoulder_visibility, person_fraction)
    if not has_body and not has_person_pixels:
        return ImageKind("garment", f"garment only ({evidence})", shoulder_visibility, person_fraction)
    why = "body pose without person pixels" if has_body else "person-like pixels without a body pose"
    return ImageKind("ambiguous", f"{why} ({evidence})", shoulder_visibility, person_fraction)
