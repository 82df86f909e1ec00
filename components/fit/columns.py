"""The manifest's fit columns: worn ratios per row (annotate, augment) and the label from params (one place)."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd

from components.fit.labels import classify_fit
from components.fit.params import FitParams
from components.fit.ratios import FitRatios

FIT_RATIO_COLUMNS: tuple[str, ...] = ("fit_width_ratio", "fit_length_ratio", "fit_span_ratio")
FIT_LABEL_COLUMN = "fit_label"


def worn_region(category: str, parse_lip: np.ndarray | None) -> np.ndarray | None:
    """The garment as worn: the LIP parse's garment labels for `category` (None without a parse)."""
    from components.annotate.regions import GARMENT_LABELS, labels_in

    if parse_lip is None:
        return None
    return labels_in(np.ascontiguousarray(parse_lip), GARMENT_LABELS[category])


def ratio_columns(ratios: FitRatios) -> dict[str, float]:
    """{fit_width_ratio, fit_length_ratio, fit_span_ratio} for a manifest row."""
    return dict(zip(FIT_RATIO_COLUMNS, (float(v) for v in ratios.as_tuple())))


def ratios_of(row) -> FitRatios:
    """The worn ratios a manifest row (mapping or Series) records; NaN for missing values."""

    def num(col: str) -> float:
        v = row.get(col) if hasattr(row, "get") else None
        try:
            v = float(v)
        except (TypeError, ValueError):
            return float("nan")
        return v if math.isfinite(v) else float("nan")

    return FitRatios(*(num(c) for c in FIT_RATIO_COLUMNS))


def fit_labels(df: pd.DataFrame, fit: FitParams) -> pd.Series:
    """fit_label for every row of `df`: tight/fitted/loose from its worn ratios, None where unmeasured or not ok."""
    if df.empty or FIT_RATIO_COLUMNS[0] not in df.columns:
        return pd.Series([None] * len(df), index=df.index, dtype=object)
    status = df["status"] if "status" in df.columns else pd.Series("ok", index=df.index)
    labels = [classify_fit(cat, ratios_of(row), fit) if st == "ok" and cat in fit.thresholds else None
              for cat, st, (_, row) in zip(df["category"], status, df[list(FIT_RATIO_COLUMNS)].iterrows())]
    return pd.Series(labels, index=df.index, dtype=object)
