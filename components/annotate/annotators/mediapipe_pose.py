"""MediaPipe Pose (the model_complexity=1 model shipped in mediapipe 0.10.21) as BODY_25 keypoints.

MediaPipe finds at most one person per call, so both person checks need a second look (see second_look.py):
- several people: when person-mask pixels are left outside the person found, the pose model runs again
  with that person hidden; a pose standing on those pixels at least annotate.pose_rules.other_person_min_size
  of the main person's size (second_look.body_size) is a second person, people who touch or overlap
  included; a smaller one is a passer-by, hidden in turn before looking again.
- nobody found: the photo is tried again equalised, cropped to the person mask and upscaled 2x; the attempt
  that found the person is recorded (BodyMaps.pose_attempt). A greyscale photo nobody was found in says so in
  its reason: this model misses people in greyscale photos it finds in their colour versions.
Limits: a second person turned away so MediaPipe misses them, or mostly hidden behind the first, passes.
"""

from __future__ import annotations

import numpy as np

from components.annotate.annotators.base import Annotator
from components.annotate.keypoints import B, body25_from_landmarks
from components.annotate.maps import BodyMaps
from components.annotate.params import PoseRules
from components.annotate.second_look import (
    ORIGINAL, body_silhouette, body_size, hidden, is_greyscale, retry_variants, same_person, shoulders_seen,
)
from components.errors import Quarantine

# Poses looked for after the first: each look hides one more (passer-by) and the photo is scanned again.
MAX_SECOND_LOOKS = 3


def _mediapipe_version() -> str:
    from components.package_versions import installed_version

    return installed_version("mediapipe")


class MediaPipePose(Annotator):
    """BODY_25 keypoints from MediaPipe Pose; quarantines images with no person or several people."""

    name = "mediapipe_pose"
    version = f"mediapipe-{_mediapipe_version()}-complexity1-second-looks"
    weights = ("mediapipe_pose_landmark_full", "mediapipe_pose_detection")
    provides = ("keypoints_body25", "n_people")
    settings_fields = ("pose_rules",)
    preload = ("mediapipe.python.solutions.pose",)

    def __init__(self, settings=None) -> None:
        super().__init__(settings)  # checks the model files inside mediapipe are the catalogued bytes
        self.rules: PoseRules = settings.pose_rules if settings is not None else PoseRules()
        self._pose = self._graph()

    def _graph(self):
        from mediapipe.python.solutions import pose as mp_pose

        return mp_pose.Pose(static_image_mode=True, model_complexity=1, enable_segmentation=False,
                            min_detection_confidence=self.rules.min_detection_confidence)

    def landmarks(self, image: np.ndarray) -> np.ndarray | None:
        """33x3 (x, y normalised, visibility) landmarks of the one person MediaPipe finds, or None."""
        result = self._pose.process(image)
        if result.pose_landmarks is None:
            return None
        return np.array([(p.x, p.y, p.visibility) for p in result.pose_landmarks.landmark], dtype=np.float32)

    def annotate(self, image: np.ndarray, prior: BodyMaps) -> BodyMaps:
        """Keypoints of the single person in `image`; Quarantine('no person ...' | 'several people ...')."""
        h, w = image.shape[:2]
        lms, attempt, tried = self.find_person(image, prior.person_mask)
        if lms is None:
            raise Quarantine(_nobody_reason(image, tried))
        kp = body25_from_landmarks(lms, w, h, self.rules.min_keypoint_visibility)
        # A try-on photo shows a torso: both shoulders or both hips. Anything less is a false detection.
        if not (kp[[B["RShoulder"], B["LShoulder"]], 2] > 0).all() and not (kp[[B["RHip"], B["LHip"]], 2] > 0).all():
            raise Quarantine("no person: neither both shoulders nor both hips visible")
        n_people = 1
        if prior.person_mask is not None:
            n_people = self._count_people(image, prior.person_mask, lms)
            if n_people > 1:
                raise Quarantine(f"several people ({n_people} detected)")
        return BodyMaps(keypoints_body25=kp, n_people=n_people, pose_attempt=attempt)

    def find_person(self, image: np.ndarray, person_mask: np.ndarray | None
                    ) -> tuple[np.ndarray | None, str | None, list[str]]:
        """(landmarks normalised to the photo or None, the attempt that found them, the attempts made)."""
        tried = [ORIGINAL]
        lms = self.landmarks(image)
        if lms is not None:
            return lms, ORIGINAL, tried
        for variant in retry_variants(image, person_mask):
            tried.append(variant.attempt)
            try:
                lms = self.landmarks(variant.image)
            except RuntimeError:  # MediaPipe rejects some degenerate regions of interest: a miss, not a crash
                self._pose.close()
                self._pose = self._graph()  # a graph that failed a run is not trusted with the next photo
                continue
            if lms is not None:
                return variant.to_photo(lms), variant.attempt, tried
        return None, None, tried

    def _count_people(self, image: np.ndarray, person_mask: np.ndarray, lms: np.ndarray) -> int:
        """1, or 2 when another pose of at least other_person_min_size stands on the person mask beside the first."""
        h, w = image.shape[:2]
        found = body_silhouette(lms, w, h)
        visible = self.rules.min_keypoint_visibility
        main_size = body_size(lms, w, h, visible)
        main_area = np.count_nonzero(person_mask & found)
        seen = [lms]
        for _ in range(MAX_SECOND_LOOKS):
            left = np.count_nonzero(person_mask & ~found)
            if left < self.rules.other_person_min_area * h * w or left < self.rules.other_person_min_ratio * main_area:
                return 1
            other = self.landmarks(hidden(image, found))
            # A pose must show a body (both shoulders seen in the photo) and be someone else: hiding leaves hands
            # and hair that can be found again. Not required on the mask: it misses small people.
            if other is None or not shoulders_seen(other, visible) or any(same_person(p, other, w, h) for p in seen):
                return 1
            if body_size(other, w, h, visible) >= self.rules.other_person_min_size * main_size:
                return 2
            seen.append(other)
            found |= body_silhouette(other, w, h)  # a passer-by: hide them too and look again
        return 1

    def close(self) -> None:
        """Free the MediaPipe graph."""
        self._pose.close()


def _nobody_reason(image: np.ndarray, tried: list[str]) -> str:
    """The quarantine reason when no attempt found a person; it names greyscale, the likely cause, when so."""
    attempts = ", ".join(tried)
    if is_greyscale(image):
        return (f"no person: pose detector found nobody in this greyscale photo (tried {attempts}; "
                "the pose model misses people without colour: a colour version may pass)")
    return f"no person: pose detector found nobody (tried {attempts})"
