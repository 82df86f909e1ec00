"""The evaluation figures by name: which way is better, and which need the standard weights to mean anything.

Shared by evaluate (reports) and the registry's promotion gates, so both read a figure the same way.
"""

from __future__ import annotations

SIZE_ACCURACY = "size_accuracy"  # share of pairs whose generated fit label is the requested one (size_accuracy.py)

# Figure name -> True when a higher value is better.
GREATER_IS_BETTER: dict[str, bool] = {
    "ssim": True,
    "psnr": True,
    "lpips": False,
    "mask_iou_paired": True,
    "mask_iou_unpaired": True,
    "gfd_paired": False,
    "gfd_unpaired": False,
    "fid_paired": False,
    "kid_paired": False,
    "fid_unpaired": False,
    "kid_unpaired": False,
    SIZE_ACCURACY: True,
}

# Figures computed on learned features: uncalibrated unless the standard weights were used.
FEATURE_BASED: frozenset[str] = frozenset({"lpips", "fid_paired", "kid_paired", "fid_unpaired", "kid_unpaired"})

# Figures that need a ground-truth photo of the person wearing the garment: computed on paired pairs only.
GROUND_TRUTH: frozenset[str] = frozenset({"ssim", "psnr", "lpips", "mask_iou_paired", "gfd_paired", "fid_paired",
                                          "kid_paired"})

# What each scope's figures were computed on: generated pairs, ground-truth photos, usable persons in the test split,
# pairs with a requested fit label (what size_accuracy is computed on).
COUNTS: tuple[str, ...] = ("n_paired", "n_unpaired", "n_real", "n_test_split", "n_size")

# Set-level figures: only comparable with published results on the whole test split with the standard weights.
SET_LEVEL: frozenset[str] = frozenset({"fid_paired", "kid_paired", "fid_unpaired", "kid_unpaired"})
NOT_COMPARABLE = "not comparable to published results"

# Run / model-version tags of the evaluation (one name each, read by evaluate and the promotion gates).
TAG_CALIBRATION = "vton.eval.calibration"
TAG_CHAMPION_CALIBRATION = "vton.eval.champion_calibration"  # the champion's figures in the same run ("none": absent)
TAG_FID_KID_COMPARABILITY = "vton.eval.fid_kid_comparability"
CALIBRATED, UNCALIBRATED = "calibrated", "uncalibrated"


def fid_kid_comparability(figures: dict[str, float], calibrated: bool) -> tuple[bool, str]:
    """Whether a scope's FID/KID can be set beside published figures, and the sentence that says so (with n)."""
    n_real, n_split = figures.get("n_real"), figures.get("n_test_split")
    n = f"n={int(figures.get('n_paired') or 0)} paired / {int(figures.get('n_unpaired') or 0)} unpaired " \
        f"generated vs {int(n_real or 0)} real"
    reasons = []
    if not calibrated:
        reasons.append("uncalibrated feature extractor")
    if n_split is None or n_split != n_split:
        reasons.append("size of the full test split unknown")
    elif (n_real or 0) < n_split:
        reasons.append(f"{int(n_real or 0)} of the {int(n_split)} test persons")
    if reasons:
        return False, f"{n}; {NOT_COMPARABLE} ({', '.join(reasons)})"
    return True, f"{n}; the full test split with the standard weights"


def metric_key(scope: str, figure: str, prefix: str = "eval") -> str:
    """The MLflow metric key of a figure: `eval.<scope>.<figure>` (champion's: `eval.champion.<scope>.<figure>`)."""
    return f"{prefix}.{scope}.{figure}"
