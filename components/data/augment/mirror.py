"""What a horizontal flip must swap besides pixels: left/right keypoints and left/right label ids.

After mirroring, the person's right arm sits where a left arm would, so its keypoints and labels must
carry the left ids (else a model learns that right arms appear on the image's left).
"""

from __future__ import annotations

import numpy as np


def permutation(n: int, pairs: tuple[tuple[int, int], ...]) -> np.ndarray:
    """Index permutation of length `n` swapping each pair."""
    perm = np.arange(n)
    for a, b in pairs:
        perm[a], perm[b] = b, a
    return perm


# OpenPose BODY_25: RShoulder/LShoulder, RElbow/LElbow, RWrist/LWrist, RHip/LHip, RKnee/LKnee, RAnkle/LAnkle,
# REye/LEye, REar/LEar, LBigToe/RBigToe, LSmallToe/RSmallToe, LHeel/RHeel.
BODY25_FLIP = permutation(25, ((2, 5), (3, 6), (4, 7), (9, 12), (10, 13), (11, 14), (15, 16), (17, 18),
                               (19, 22), (20, 23), (21, 24)))
# LIP (SCHP, VITON-HD image-parse): 14/15 left/right arm, 16/17 left/right leg, 18/19 left/right shoe.
LIP_FLIP = permutation(256, ((14, 15), (16, 17), (18, 19)))
# ATR: 9/10 left/right shoe, 12/13 left/right leg, 14/15 left/right arm.
ATR_FLIP = permutation(256, ((9, 10), (12, 13), (14, 15)))
# DensePose part ids (I channel, 1-24): hands 3/4, feet 5/6, upper legs back 7/8 and front 9/10, lower legs
# back 11/12 and front 13/14, upper arms back 15/16 and front 17/18, lower arms back 19/20 and front 21/22,
# head 23/24 (the pairs detectron2's DensePose flip uses). U/V are kept: exact UV mirroring needs the
# SMPL UV symmetry table, so a flipped map's UV coordinates are approximate (part ids are exact).
DENSEPOSE_FLIP = permutation(256, ((3, 4), (5, 6), (7, 8), (9, 10), (11, 12), (13, 14), (15, 16), (17, 18),
                                   (19, 20), (21, 22), (23, 24)))


def swap_labels(labels: np.ndarray, table: np.ndarray) -> np.ndarray:
    """`labels` (uint8 ids) with each id replaced by its mirror id."""
    return table.astype(labels.dtype)[labels]


def swap_keypoints(kp: np.ndarray, perm: np.ndarray) -> np.ndarray:
    """Keypoint rows reordered so index i holds what was the mirror point of i."""
    return kp[perm]
