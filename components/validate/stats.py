"""Per-sample statistics validate needs and annotate may not have stored: which joints are present and
how many image sides the garment mask touches. Computed from the files only where the manifest is null.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import numpy as np
import pandas as pd

from components.progress import progress
from components.validate.params import BODY25


def visible_mask_from_json(path: Path) -> int:
    """Bit i set when BODY_25 joint i of the first person in an OpenPose JSON file has confidence > 0."""
    people = json.loads(path.read_text()).get("people") or []
    if not people:
        return 0
    conf = np.asarray(people[0]["pose_keypoints_2d"], dtype=np.float64).reshape(-1, 3)[: len(BODY25), 2]
    return int(sum(1 << i for i, c in enumerate(conf) if c > 0))


def border_sides(mask: np.ndarray) -> int:
    """How many of the four image sides a binary mask touches (4: it fills the frame edge to edge)."""
    m = mask > 0
    if not m.any():
        return 0
    return int(m[0, :].any()) + int(m[-1, :].any()) + int(m[:, 0].any()) + int(m[:, -1].any())


def border_sides_from_file(path: Path) -> int:
    """`border_sides` of a mask image (foreground: value > 127)."""
    from PIL import Image

    with Image.open(path) as img:
        return border_sides(np.asarray(img.convert("L")) > 127)


def joint_bits(names: list[str]) -> int:
    """The bit mask of BODY_25 joints `names`."""
    return sum(1 << BODY25.index(n) for n in names)


def joint_names(bits: int) -> list[str]:
    """The BODY_25 joint names set in `bits`."""
    return [n for i, n in enumerate(BODY25) if bits >> i & 1]


def fill_missing_stats(df: pd.DataFrame, dataset_dir: Path) -> tuple[pd.DataFrame, int]:
    """`df` with keypoint_visible_mask and cloth_mask_border_sides computed from files where null; and how many were."""
    out = df.copy()
    computed = 0
    jobs = (
        ("keypoint_visible_mask", "keypoints_path", visible_mask_from_json),
        ("cloth_mask_border_sides", "cloth_mask_path", border_sides_from_file),
    )
    for column, path_column, compute in jobs:
        values = out[column].astype("float64") if column in out else pd.Series(np.nan, index=out.index)
        todo = out.index[values.isna() & out[path_column].notna()]
        for i in progress(todo, total=len(todo), desc=f"validate: {column}", unit="file"):
            path = Path(os.path.normpath(os.path.join(dataset_dir, str(out.at[i, path_column]))))
            try:
                values.at[i] = compute(path)
                computed += 1
            except (OSError, ValueError, KeyError, json.JSONDecodeError):
                pass  # unreadable files are reported by the completeness suite
        out[column] = values
    return out, computed
