"""The calibration rule through a real promotion: a run whose champion figures were measured differently is refused."""

from __future__ import annotations

from pathlib import Path

from components.registry.params import MetricGate, PromoteParams
from components.registry.promotion import alias_version, promote_run
from tests.registry.conftest import MODEL, figures, register_candidate

PARAMS = PromoteParams(min_pairs_per_category=1, gates={"lpips": MetricGate(max_regression=0.0)})


def test_promotion_refuses_to_compare_a_calibrated_challenger_with_an_uncalibrated_champion(registry):
    client = registry[0]
    run1, v1 = register_candidate(registry, figures(lpips=0.4))
    assert promote_run(client, MODEL, run1, PARAMS, Path("/nonexistent")).outcome == "promoted"
    run2, v2 = register_candidate(registry, figures(lpips=0.2), champion=figures(lpips=0.4), champion_version=v1)
    client.set_tag(run2, "vton.eval.calibration", "calibrated")
    client.set_tag(run2, "vton.eval.champion_calibration", "uncalibrated")
    decision = promote_run(client, MODEL, run2, PARAMS, Path("/nonexistent"))
    assert decision.outcome == "refused" and alias_version(client, MODEL, "champion") == v1
    assert "not compared: the champion's lpips is uncalibrated, the challenger's calibrated" in decision.message
    # Re-evaluated with the same networks (what `vton evaluate` does), the same figures pass.
    client.set_tag(run2, "vton.eval.champion_calibration", "calibrated")
    assert promote_run(client, MODEL, run2, PARAMS, Path("/nonexistent")).outcome == "promoted"
    assert alias_version(client, MODEL, "champion") == v2
