"""Fit labels: band boundaries, NaN, and the ratios a requested label stands for."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from components.fit.labels import FIT_LABELS, classify_fit, representative_ratios
from components.fit.params import FitParams, FitThresholds
from components.fit.ratios import FitRatios

NAN = float("nan")
T = FitThresholds(tight_below=1.0, loose_above=1.4, typical_length=1.3, typical_span=1.2)


@pytest.mark.parametrize(("width", "label"), [
    (0.5, "tight"), (0.999, "tight"), (1.0, "fitted"), (1.2, "fitted"), (1.4, "fitted"), (1.401, "loose"),
    (3.0, "loose"),
])
def test_the_width_ratio_bands_give_tight_fitted_loose_with_boundaries_in_fitted(width, label):
    assert classify_fit("upper_body", FitRatios(width, 1.0, 1.0), T) == label


def test_a_nan_width_ratio_has_no_label_even_when_length_and_span_are_known():
    assert classify_fit("upper_body", FitRatios(NAN, 1.0, 1.0), T) is None


def test_classify_reads_the_category_s_thresholds_from_the_whole_fit_section():
    fit = FitParams()
    w = 0.5 * (fit.thresholds["upper_body"].loose_above + fit.thresholds["lower_body"].tight_below)
    assert classify_fit("upper_body", FitRatios(w, 1, 1), fit) == "loose"
    assert classify_fit("lower_body", FitRatios(w, 1, 1), fit) == "tight"


@pytest.mark.parametrize("category", ["upper_body", "lower_body", "dresses"])
@pytest.mark.parametrize("label", FIT_LABELS)
def test_representative_ratios_round_trip_through_classify_fit(category, label):
    fit = FitParams()
    assert classify_fit(category, representative_ratios(category, label, fit), fit) == label


def test_representative_ratios_sit_at_band_centres_with_the_typical_length_and_a_span_scaled_with_width():
    fitted, loose = representative_ratios("x", "fitted", T), representative_ratios("x", "loose", T)
    assert fitted == FitRatios(1.2, 1.3, 1.2)
    assert loose.width == pytest.approx(1.6) and loose.length == 1.3
    assert loose.span == pytest.approx(1.2 * 1.6 / 1.2)
    assert representative_ratios("x", "tight", T).width == pytest.approx(0.8)
    with pytest.raises(ValueError, match="unknown fit label"):
        representative_ratios("x", "baggy", T)


def test_fit_params_refuse_unordered_bands_unknown_keys_and_missing_categories():
    with pytest.raises(ValidationError, match="must be below"):
        FitThresholds(tight_below=1.5, loose_above=1.2, typical_length=1, typical_span=1)
    with pytest.raises(ValidationError, match="not permitted|Extra inputs"):
        FitParams.model_validate({"threshold": {}})
    with pytest.raises(ValidationError, match="missing"):
        FitParams.model_validate({"thresholds": {"upper_body": T.model_dump()}})
    with pytest.raises(ValidationError, match="low <= high"):
        FitParams.model_validate({"size_augment": {"scale": {
            "upper_body": {"width": [1.2, 0.9]}, "lower_body": {}, "dresses": {}}}})
