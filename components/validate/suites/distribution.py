"""Distribution: enough samples per category and split, balanced categories, sane test share, quarantine rate,
and a mix of fit labels."""

from __future__ import annotations

import great_expectations.expectations as gxe
from great_expectations.expectations.row_conditions import Column

from components.validate.params import ValidateParams


def expectations(params: ValidateParams) -> list[tuple[str, object]]:
    """(table, expectation) pairs of the distribution suite."""
    d = params.distribution
    out: list[tuple[str, object]] = [
        ("groups", gxe.ExpectColumnValuesToBeBetween(
            column="n_ok", min_value=minimum, row_condition=Column("split") == split,
            meta={"rule": "distribution.samples_per_split"}))
        for split, minimum in sorted(d.min_samples.items())
    ]
    out.append(("categories", gxe.ExpectColumnValuesToBeBetween(
        column="share_of_largest", min_value=1.0 / d.max_category_ratio,
        meta={"rule": "distribution.category_balance"})))
    lo, hi = d.test_fraction
    out.append(("categories", gxe.ExpectColumnValuesToBeBetween(
        column="test_fraction", min_value=lo, max_value=hi, meta={"rule": "distribution.test_fraction"})))
    # Categories with no labelled sample (no parse to measure the worn garment on) have no mix to judge.
    out.append(("categories", gxe.ExpectColumnValuesToBeBetween(
        column="n_fit_labels", min_value=2, row_condition=Column("n_fit_labelled") > 0,
        meta={"rule": "distribution.fit_label_mix"})))
    out.append(("sources", gxe.ExpectColumnValuesToBeBetween(
        column="quarantine_rate", max_value=d.max_quarantine_rate, meta={"rule": "distribution.quarantine_rate"})))
    return out
