"""The tables the suites check, built from a manifest: one row per ok sample with the figures the rules
need, one per row of the manifest, and the per (category, split), per category and per source summaries.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from components.fit import FIT_LABELS
from components.manifest.schema import CATEGORIES, SPLITS
from components.validate.files import decode_errors, missing_files
from components.validate.leakage import augmented_test_parent, split_leak_partner
from components.validate.params import ValidateParams
from components.validate.stats import fill_missing_stats, joint_bits, joint_names

FILE_COLUMNS: tuple[str, ...] = (
    "person_path", "garment_path", "keypoints_path", "keypoints_coco18_path", "pose_render_path",
    "person_mask_path", "cloth_mask_path", "parse_path", "parse_atr_path", "densepose_path",
    "agnostic_mask_path", "agnostic_path",
)
REQUIRED_COLUMNS: tuple[str, ...] = (
    "person_path", "garment_path", "keypoints_path", "parse_path", "agnostic_mask_path", "cloth_mask_path",
    "keypoint_count", "keypoint_confidence_mean", "cloth_mask_area", "agnostic_mask_area",
)


@dataclass
class Facts:
    """The tables the suites validate, and notes on how they were computed."""

    samples: pd.DataFrame  # ok rows + derived figures
    rows: pd.DataFrame  # every manifest row (ids and provenance)
    groups: pd.DataFrame  # (category, split) -> ok count
    categories: pd.DataFrame  # category -> ok count, share of the largest, test fraction, fit-label mix
    sources: pd.DataFrame  # source -> rows, quarantined, rate
    notes: list[str] = field(default_factory=list)


def _missing_joints(samples: pd.DataFrame, required: dict[str, list[str]]) -> pd.Series:
    """Per row, the category's required joints that are absent (text), None when all present or unknown."""
    out = pd.Series(None, index=samples.index, dtype=object)
    visible = samples["keypoint_visible_mask"]
    for cat, names in required.items():
        need = joint_bits(names)
        if not need:
            continue
        rows = (samples["category"] == cat) & visible.notna()
        bits = visible[rows].astype(np.int64).to_numpy()
        lacking = need & ~bits
        for i, miss in zip(visible[rows].index[lacking != 0], lacking[lacking != 0]):
            out.at[i] = ",".join(joint_names(int(miss)))
    return out


def _absent(df: pd.DataFrame, columns: tuple[str, ...]) -> pd.Series:
    """Per row, which of `columns` are null (comma-separated), or None when all are filled."""
    nulls = df[list(columns)].isna()
    out = pd.Series(None, index=df.index, dtype=object)
    bad = nulls.any(axis=1)
    for i in bad[bad].index:
        out.at[i] = ", ".join(c for c in columns if nulls.at[i, c])
    return out


def build_facts(df: pd.DataFrame, dataset_dir: Path, params: ValidateParams, frame_area: float, seed: int = 0) -> Facts:
    """Everything the suites check, computed from the manifest `df` of `dataset_dir` in vectorised passes."""
    notes: list[str] = []
    ok = df[df["status"] == "ok"].reset_index(drop=True)
    ok, computed = fill_missing_stats(ok, dataset_dir)
    if computed:
        notes.append(f"computed {computed} keypoint/cloth-mask statistics from files (annotate had not stored them)")
    g = params.geometry
    s = pd.DataFrame({c: ok[c] for c in ("sample_id", "category", "split", "source", "parent_id")})
    s["fit_label"] = ok["fit_label"] if "fit_label" in ok.columns else None
    required = REQUIRED_COLUMNS + (("densepose_path",) if params.completeness.require_densepose else ())
    s["missing_annotations"] = _absent(ok, required)
    s["missing_files"] = missing_files(ok, dataset_dir, FILE_COLUMNS)
    sample = params.completeness.decode_sample
    s["decode_error"], opened = decode_errors(
        ok, dataset_dir, ("person_path", "garment_path", "keypoints_path", "parse_path", "agnostic_mask_path",
                          "cloth_mask_path", "densepose_path"), sample, seed)
    notes.append(f"checked that all {int(ok[list(FILE_COLUMNS)].notna().sum().sum())} named files exist; "
                 f"decoded {opened} of them ({'all' if sample < 0 else f'up to {sample} per column, seeded'})")
    for who in ("person", "garment"):
        w, h = ok[f"{who}_width"].astype("float64"), ok[f"{who}_height"].astype("float64")
        s[f"{who}_min_side"] = np.minimum(w, h)
        s[f"{who}_aspect"] = w / h
    for c in ("keypoint_count", "keypoint_confidence_mean", "keypoint_visible_mask"):
        s[c] = ok[c]
    s["missing_joints"] = _missing_joints(ok, g.required_keypoints)
    s["cloth_mask_fraction"] = ok["cloth_mask_area"].astype("float64") / frame_area
    s["agnostic_mask_fraction"] = ok["agnostic_mask_area"].astype("float64") / frame_area
    s["cloth_mask_border_sides"] = ok["cloth_mask_border_sides"].astype("float64")
    d = params.integrity.phash_max_distance
    s["person_sha256"], s["garment_sha256"] = ok["person_sha256"], ok["garment_sha256"]
    s["person_leak"] = split_leak_partner(ok, "person_phash", "person_sha256", d)
    s["garment_leak"] = split_leak_partner(ok, "garment_phash", "garment_sha256", d)
    s["augmented_test_parent"] = augmented_test_parent(ok, df)
    return Facts(s, _rows_table(df), *_summaries(df), notes=notes)


def _rows_table(df: pd.DataFrame) -> pd.DataFrame:
    origin = df["source_url"].fillna(df["source_image_url"]).fillna(df["parent_id"])
    return pd.DataFrame({
        "sample_id": df["sample_id"], "category": df["category"], "split": df["split"],
        "source": df["source"].replace("", None), "licence": df["licence"].fillna(""), "origin": origin,
    })


def _fit_label_mix(ok: pd.DataFrame) -> dict[str, np.ndarray]:
    """Per category (CATEGORIES order): ok samples per fit label, how many carry one, and how many labels occur."""
    labels = ok["fit_label"] if "fit_label" in ok.columns else pd.Series(None, index=ok.index, dtype=object)
    counts = pd.crosstab(ok["category"], labels.fillna("")) if len(ok) else pd.DataFrame()
    out: dict[str, list[int]] = {f"n_fit_{name}": [] for name in FIT_LABELS}
    out["n_fit_labelled"], out["n_fit_labels"] = [], []
    for cat in CATEGORIES:
        per = {name: int(counts.at[cat, name]) if cat in counts.index and name in counts.columns else 0
               for name in FIT_LABELS}
        for name, n in per.items():
            out[f"n_fit_{name}"].append(n)
        out["n_fit_labelled"].append(sum(per.values()))
        out["n_fit_labels"].append(sum(1 for n in per.values() if n))
    return {k: np.asarray(v) for k, v in out.items()}


def _summaries(df: pd.DataFrame) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    ok = df[df["status"] == "ok"]
    counts = ok.groupby(["category", "split"]).size()
    groups = pd.DataFrame(
        [{"category": c, "split": sp, "n_ok": int(counts.get((c, sp), 0))} for c in CATEGORIES for sp in SPLITS]
    )
    per_cat = groups.pivot(index="category", columns="split", values="n_ok").reindex(list(CATEGORIES)).fillna(0)
    n_ok = per_cat.sum(axis=1)
    largest = max(float(n_ok.max()), 1.0)
    categories = pd.DataFrame({
        "category": list(CATEGORIES),
        "n_ok": n_ok.astype(int).to_numpy(),
        "share_of_largest": (n_ok / largest).to_numpy(),
        "test_fraction": (per_cat["test"] / n_ok.where(n_ok > 0)).to_numpy(),
        **_fit_label_mix(ok),
    })
    # Augmented copies are made from accepted samples; counting them would dilute the source's rate.
    originals = df[df["parent_id"].isna()]
    by_source = originals.groupby("source")["status"]
    sources = pd.DataFrame({
        "source": by_source.size().index,
        "n_rows": by_source.size().to_numpy(),
        "n_quarantined": by_source.apply(lambda st: int((st == "quarantined").sum())).to_numpy(),
    })
    sources["quarantine_rate"] = sources["n_quarantined"] / sources["n_rows"]
    return groups, categories, sources
