"""OpenPose body network (CMU COCO-18 model, ControlNet's `body_pose_model.pth`) as BODY_25 keypoints."""

from __future__ import annotations

import numpy as np

from components.annotate.annotators.base import Annotator
from components.annotate.annotators.torch_device import resolve_device, resolve_dtype
from components.annotate.maps import BodyMaps
from components.annotate.params import OpenPoseParams
from components.errors import Quarantine


class OpenPoseBody(Annotator):
    """BODY_25 keypoints (feet zero: the body model has no foot points) of the single person in the image."""

    name = "openpose_body"
    version = "cmu-coco18-controlnet"
    weights = ("openpose_body_pose_model",)
    provides = ("keypoints_body25", "n_people")
    settings_fields = ("openpose",)  # scales, box size, float16 (its device is placement)

    def __init__(self, settings=None) -> None:
        super().__init__(settings)
        from components.annotate.networks.openpose_body import load_openpose_body
        from components.models.store import ensure_weights

        self.params: OpenPoseParams = settings.openpose if settings is not None else OpenPoseParams()
        self.device = resolve_device(self.params.device)
        self.dtype = resolve_dtype(self.device, self.params.half)
        self.model = load_openpose_body(ensure_weights("openpose_body_pose_model"), self.device).to(dtype=self.dtype)

    def annotate(self, image: np.ndarray, prior: BodyMaps) -> BodyMaps:
        """Keypoints of the one person; Quarantine('no person' | 'several people ...')."""
        from components.annotate.networks.openpose_body import coco18_to_body25, detect_people

        people = detect_people(self.model, image, tuple(self.params.scales), self.params.box_size)
        if not people:
            raise Quarantine("no person: OpenPose found nobody")
        if len(people) > 1:
            raise Quarantine(f"several people ({len(people)} detected)")
        return BodyMaps(keypoints_body25=coco18_to_body25(people[0]), n_people=1)
