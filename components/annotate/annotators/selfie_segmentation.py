"""Person mask from MediaPipe Selfie Segmentation (the general 256x256 model shipped in mediapipe)."""

from __future__ import annotations

import numpy as np

from components.annotate.annotators.base import Annotator
from components.annotate.maps import BodyMaps
from components.annotate.params import PoseRules


def _mediapipe_version() -> str:
    from components.package_versions import installed_version

    return installed_version("mediapipe")


class SelfieSegmentation(Annotator):
    """A bool person mask: selfie-segmentation probability above annotate.pose_rules.person_mask_threshold."""

    name = "selfie_segmentation"
    version = f"mediapipe-{_mediapipe_version()}-general"
    weights = ("mediapipe_selfie_segmentation",)
    provides = ("person_mask",)
    settings_fields = ("pose_rules",)  # person_mask_threshold
    preload = ("mediapipe.python.solutions.selfie_segmentation",)

    def __init__(self, settings=None) -> None:
        super().__init__(settings)  # checks the model files inside mediapipe are the catalogued bytes
        from mediapipe.python.solutions import selfie_segmentation as mp_seg

        rules: PoseRules = settings.pose_rules if settings is not None else PoseRules()
        self.threshold = rules.person_mask_threshold
        self._seg = mp_seg.SelfieSegmentation(model_selection=0)

    def probability(self, image: np.ndarray) -> np.ndarray:
        """Per-pixel person probability (float32 HxW)."""
        return np.asarray(self._seg.process(image).segmentation_mask, dtype=np.float32)

    def annotate(self, image: np.ndarray, prior: BodyMaps) -> BodyMaps:
        """The person mask of `image`."""
        return BodyMaps(person_mask=self.probability(image) > self.threshold)

    def close(self) -> None:
        """Free the MediaPipe graph."""
        self._seg.close()
