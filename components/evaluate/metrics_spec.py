"""The evaluation figures by name: which way is better, and which need the standard weights to mean anything.

Shared by evaluate (reports) and the registry's promotion gates, so both read a figure the same way.
"""

from __future__ import annotations

# Figure name -> True when a higher value is better.
GREATER_IS_BETTER: dict[str, bool] = {
    "ssim": True,
    "lpips": False,
    "mask_iou_paired": True,
    "mask_iou_unpaired": True,
    "gfd_paired": False,
    "gfd_unpaired": False,
    "fid_paired": False,
    "kid_paired": False,
    "fid_unpaired": False,
    "kid_unpaired": False,
}

# Figures computed on learned features: uncalibrated unless the standard weights were used.
FEATURE_BASED: frozenset[str] = frozenset({"lpips", "fid_paired", "kid_paired", "fid_unpaired", "kid_unpaired"})

COUNTS: tuple[str, ...] = ("n_paired", "n_unpaired")


def metric_key(scope: str, figure: str, prefix: str = "eval") -> str:
    """The MLflow metric key of a figure: `eval.<scope>.<figure>` (champion's: `eval.champion.<scope>.<figure>`)."""
    return f"{prefix}.{scope}.{figure}"
