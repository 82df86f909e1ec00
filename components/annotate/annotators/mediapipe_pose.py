"""MediaPipe Pose (the model_complexity=1 model shipped in mediapipe 0.10.21) as BODY_25 keypoints.

MediaPipe finds at most one person per call, so "several people" needs a second signal: when the selfie
segmentation mask has another large blob that the found person does not occupy, the pose model runs
again on the image with the found person's blob greyed out; a second pose there means several people.
Limits: people who touch or overlap form one blob and pass as one person; a second person smaller than
annotate.pose_rules.other_person_min_area of the image, or turned away so MediaPipe misses them, passes too.
"""

from __future__ import annotations

import cv2
import numpy as np

from components.annotate.annotators.base import Annotator
from components.annotate.keypoints import B, body25_from_landmarks
from components.annotate.maps import BodyMaps
from components.annotate.params import PoseRules
from components.errors import Quarantine


def _mediapipe_version() -> str:
    from importlib.metadata import version

    return version("mediapipe")


class MediaPipePose(Annotator):
    """BODY_25 keypoints from MediaPipe Pose; quarantines images with no person or several people."""

    name = "mediapipe_pose"
    version = f"mediapipe-{_mediapipe_version()}-complexity1"
    weights = ("mediapipe_pose_landmark_full", "mediapipe_pose_detection")
    provides = ("keypoints_body25", "n_people")

    def __init__(self, settings=None) -> None:
        super().__init__(settings)  # checks the model files inside mediapipe are the catalogued bytes
        from mediapipe.python.solutions import pose as mp_pose

        self.rules: PoseRules = settings.pose_rules if settings is not None else PoseRules()
        self._pose = mp_pose.Pose(
            static_image_mode=True, model_complexity=1, enable_segmentation=False,
            min_detection_confidence=self.rules.min_detection_confidence,
        )

    def landmarks(self, image: np.ndarray) -> np.ndarray | None:
        """33x3 (x, y normalised, visibility) landmarks of the one person MediaPipe finds, or None."""
        result = self._pose.process(image)
        if result.pose_landmarks is None:
            return None
        return np.array([(p.x, p.y, p.visibility) for p in result.pose_landmarks.landmark], dtype=np.float32)

    def annotate(self, image: np.ndarray, prior: BodyMaps) -> BodyMaps:
        """Keypoints of the single person in `image`; Quarantine('no person' | 'several people ...')."""
        h, w = image.shape[:2]
        lms = self.landmarks(image)
        if lms is None:
            raise Quarantine("no person: pose detector found nobody")
        kp = body25_from_landmarks(lms, w, h, self.rules.min_keypoint_visibility)
        # A try-on photo shows a torso: both shoulders or both hips. Anything less is a false detection.
        if not (kp[[B["RShoulder"], B["LShoulder"]], 2] > 0).all() and not (kp[[B["RHip"], B["LHip"]], 2] > 0).all():
            raise Quarantine("no person: neither both shoulders nor both hips visible")
        n_people = 1
        if prior.person_mask is not None:
            n_people = self._count_people(image, prior.person_mask, lms)
            if n_people > 1:
                raise Quarantine(f"several people ({n_people} detected)")
        return BodyMaps(keypoints_body25=kp, n_people=n_people)

    def _count_people(self, image: np.ndarray, person_mask: np.ndarray, lms: np.ndarray) -> int:
        """1, or 2 when a second pose is found on another large person-mask blob."""
        h, w = image.shape[:2]
        count, labels, stats, _ = cv2.connectedComponentsWithStats(person_mask.astype(np.uint8), connectivity=8)
        areas = stats[1:, cv2.CC_STAT_AREA]
        if len(areas) < 2:
            return 1
        big = [i + 1 for i, a in enumerate(areas)
               if a >= self.rules.other_person_min_area * h * w and a >= self.rules.other_person_min_ratio * areas.max()]
        if len(big) < 2:
            return 1
        own = _blob_under_torso(labels, lms, w, h)
        if own == 0:
            return 1
        others = [b for b in big if b != own]
        if not others:
            return 1
        blanked = image.copy()
        blanked[labels == own] = 128  # hide the person already found so the detector looks elsewhere
        second = self.landmarks(blanked)
        if second is None:
            return 1
        # The second pose counts only if it stands on one of the other large blobs.
        return 2 if _blob_under_torso(labels, second, w, h) in others else 1

    def close(self) -> None:
        """Free the MediaPipe graph."""
        self._pose.close()


def _blob_under_torso(labels: np.ndarray, lms: np.ndarray, w: int, h: int) -> int:
    """The component label most torso landmarks (shoulders, hips, nose) fall on; 0 for none."""
    votes: dict[int, int] = {}
    for idx in (0, 11, 12, 23, 24):
        x, y = int(lms[idx, 0] * w), int(lms[idx, 1] * h)
        if 0 <= x < w and 0 <= y < h and labels[y, x] > 0:
            votes[int(labels[y, x])] = votes.get(int(labels[y, x]), 0) + 1
    return max(votes, key=votes.get) if votes else 0
