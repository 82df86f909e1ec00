"""The metric gates as pure checks: calibration decides which figures may be compared with the champion's."""

from __future__ import annotations

from components.registry.gates import FigureCalibration, metric_gate_checks
from components.registry.params import MetricGate, PromoteParams

PARAMS = PromoteParams(gates={"lpips": MetricGate(max_regression=0.0), "ssim": MetricGate(max_regression=0.0)})
CHAMPION = {"overall": {"lpips": 0.30, "ssim": 0.80}}


def _verdicts(challenger, calibration, params=PARAMS, champion=CHAMPION):
    return {c.gate: c for c in metric_gate_checks(challenger, champion, params, calibration)}


def test_feature_figures_of_the_same_calibration_are_compared_and_say_the_champion_was_re_evaluated():
    checks = _verdicts({"overall": {"lpips": 0.35, "ssim": 0.85}}, FigureCalibration("uncalibrated", "uncalibrated"))
    assert not checks["metric overall.lpips"].passed and "worse than the champion's 0.3000" in \
        checks["metric overall.lpips"].detail
    better = _verdicts({"overall": {"lpips": 0.25, "ssim": 0.85}}, FigureCalibration("calibrated", "calibrated"))
    assert better["metric overall.lpips"].passed
    assert better["metric overall.lpips"].detail == "0.2500 (champion 0.3000, re-evaluated in this run)"


def test_a_calibrated_challenger_is_never_compared_with_an_uncalibrated_champion():
    # The challenger's LPIPS is better in number, but the two were measured on different networks.
    checks = _verdicts({"overall": {"lpips": 0.10, "ssim": 0.85}}, FigureCalibration("calibrated", "uncalibrated"))
    lpips = checks["metric overall.lpips"]
    assert not lpips.passed
    assert lpips.detail.startswith("not compared: the champion's lpips is uncalibrated, the challenger's calibrated")
    assert "re-run `vton evaluate`" in lpips.detail
    assert checks["metric overall.ssim"].passed  # SSIM is computed on pixels: no calibration to differ in


def test_champion_figures_left_from_an_earlier_evaluation_are_not_compared():
    checks = _verdicts({"overall": {"lpips": 0.10, "ssim": 0.85}}, FigureCalibration("calibrated", "none"))
    assert not checks["metric overall.lpips"].passed and "is none" in checks["metric overall.lpips"].detail


def test_runs_without_the_champion_calibration_tag_compare_as_before():
    assert FigureCalibration.from_tags({"vton.eval.calibration": "calibrated"}).comparable
    checks = _verdicts({"overall": {"lpips": 0.25, "ssim": 0.85}}, None)
    assert all(c.passed for c in checks.values())


def test_thresholds_on_uncalibrated_figures_are_applied_and_labelled():
    params = PromoteParams(gates={"lpips": MetricGate(threshold=0.5)})
    checks = _verdicts({"overall": {"lpips": 0.4}}, FigureCalibration("uncalibrated", None), params, None)
    assert checks["metric overall.lpips"].detail == "0.4000; uncalibrated figure against an absolute threshold"


def test_psnr_is_a_gate_able_figure():
    params = PromoteParams(gates={"psnr": MetricGate(threshold=20.0, max_regression=0.5)})
    champion = {"overall": {"psnr": 24.0}}
    checks = _verdicts({"overall": {"psnr": 23.0}}, FigureCalibration("calibrated", "uncalibrated"), params, champion)
    assert not checks["metric overall.psnr"].passed and "worse than the champion's 24.0000 by 1.0000" in \
        checks["metric overall.psnr"].detail
    low = _verdicts({"overall": {"psnr": 18.0}}, None, params, None)
    assert not low["metric overall.psnr"].passed
    assert _verdicts({"overall": {"psnr": 23.8}}, None, params, champion)["metric overall.psnr"].passed


def test_a_category_evaluated_on_unpaired_pairs_only_is_gated_on_what_it_has_unless_required():
    from components.registry.gates import min_pairs_checks

    params = PromoteParams(gates={"ssim": MetricGate(threshold=0.5), "fid_unpaired": MetricGate(threshold=300.0)})
    challenger = {"dresses": {"n_paired": 0, "n_unpaired": 2, "fid_unpaired": 400.0},
                  "upper_body": {"n_paired": 1, "n_unpaired": 2, "ssim": 0.9, "fid_unpaired": 100.0},
                  "overall": {"n_paired": 1, "n_unpaired": 4, "ssim": 0.9, "fid_unpaired": 250.0}}
    checks = _verdicts(challenger, None, params, champion=None)
    assert checks["metric dresses.ssim"].passed and "no test pair of this category has a ground-truth photo" in \
        checks["metric dresses.ssim"].detail
    assert not checks["metric dresses.fid_unpaired"].passed  # its unpaired figures still gate
    pairs = {c.gate: c for c in min_pairs_checks(challenger, ["upper_body", "dresses"], 1, params)}
    assert pairs["pairs dresses"].passed and "no ground truth" in pairs["pairs dresses"].detail

    required = params.model_copy(update={"required_categories": ["dresses"]})
    strict = _verdicts(challenger, None, required, champion=None)
    assert not strict["metric dresses.ssim"].passed
    assert not {c.gate: c for c in min_pairs_checks(challenger, ["dresses"], 1, required)}["pairs dresses"].passed
    # A category with neither kind of pair is not evaluated at all: never waved through.
    empty = {"lower_body": {"n_paired": 0, "n_unpaired": 0}}
    assert not _verdicts(empty, None, params, champion=None)["metric lower_body.ssim"].passed


def test_size_accuracy_is_a_gate_able_figure_and_a_scope_without_requested_fits_says_why_it_fails():
    params = PromoteParams(gates={"size_accuracy": MetricGate(threshold=0.6, max_regression=0.0)})
    checks = _verdicts({"overall": {"size_accuracy": 0.75, "n_size": 8.0},
                        "dresses": {"size_accuracy": float("nan"), "n_size": 0.0},
                        "upper_body": {"size_accuracy": 0.5, "n_size": 4.0}},
                       FigureCalibration("uncalibrated", "uncalibrated"), params,
                       champion={"overall": {"size_accuracy": 0.7}})
    assert checks["metric overall.size_accuracy"].passed
    assert not checks["metric upper_body.size_accuracy"].passed  # below the threshold
    dresses = checks["metric dresses.size_accuracy"]
    assert not dresses.passed and "no evaluated pair of this scope has a requested fit label" in dresses.detail
