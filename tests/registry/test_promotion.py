"""Promotion through the gates against a real SQLite MLflow registry."""

from __future__ import annotations

from pathlib import Path

import pytest

from components.errors import GateFailed, VtonError
from components.registry.ledger import read_ledger
from components.registry.params import MetricGate, PromoteParams
from components.registry.promotion import alias_version, promote_run, review_decision, review_text, rollback
from tests.registry.conftest import MODEL, figures, register_candidate

GATES = PromoteParams(
    min_pairs_per_category=2,
    gates={"lpips": MetricGate(threshold=0.6, max_regression=0.0), "ssim": MetricGate(threshold=0.2)},
)


def champion_of(registry) -> str | None:
    return alias_version(registry[0], MODEL, "champion")


def promote(registry, run_id: str, params: PromoteParams = GATES, tmp: Path = Path("/nonexistent")):
    return promote_run(registry[0], MODEL, run_id, params, tmp)


def test_first_model_passing_absolute_thresholds_becomes_champion_and_is_recorded(registry):
    run_id, version = register_candidate(registry, figures(lpips=0.4))
    decision = promote(registry, run_id)
    assert (decision.outcome, decision.exit_code) == ("promoted", 0)
    assert champion_of(registry) == version
    assert alias_version(registry[0], MODEL, "challenger") == version
    ledger = read_ledger(registry[0], MODEL)
    assert [(e.action, e.alias, e.from_version, e.to_version) for e in ledger] == [
        ("challenger", "challenger", None, version), ("promote", "champion", None, version)]
    assert ledger[1].evidence["run_id"] == run_id and ledger[1].by == "gate:promote"
    artifacts = [a.path for a in registry[0].list_artifacts(run_id, "registry")]
    assert artifacts == ["registry/ledger.json"]


def test_first_model_failing_an_absolute_threshold_is_refused(registry):
    run_id, _ = register_candidate(registry, figures(lpips=0.7))
    decision = promote(registry, run_id)
    assert (decision.outcome, decision.exit_code) == ("refused", 3)
    assert "overall.lpips" in decision.message and champion_of(registry) is None


def test_better_challenger_replaces_the_champion_with_a_rollback_target(registry):
    run1, v1 = register_candidate(registry, figures(lpips=0.4))
    promote(registry, run1)
    run2, v2 = register_candidate(registry, figures(lpips=0.3), champion=figures(lpips=0.4), champion_version=v1)
    decision = promote(registry, run2)
    assert decision.outcome == "promoted" and champion_of(registry) == v2
    last = read_ledger(registry[0], MODEL)[-1]
    assert (last.from_version, last.to_version, last.rollback_target) == (v1, v2, v1)


def test_worse_challenger_overall_keeps_the_champion(registry):
    run1, v1 = register_candidate(registry, figures(lpips=0.3))
    promote(registry, run1)
    run2, v2 = register_candidate(registry, figures(lpips=0.35), champion=figures(lpips=0.3), champion_version=v1)
    decision = promote(registry, run2)
    assert decision.exit_code == 3 and champion_of(registry) == v1
    assert "worse than the champion" in decision.message
    assert registry[0].get_model_version(MODEL, v2).tags["vton.gates"] == "failed"


def test_challenger_worse_in_one_category_only_is_refused(registry):
    run1, v1 = register_candidate(registry, figures(lpips=0.4))
    promote(registry, run1)
    mine = figures(lpips=0.3, per_category={"lower_body": {"lpips": 0.45}})
    run2, _ = register_candidate(registry, mine, champion=figures(lpips=0.4), champion_version=v1)
    decision = promote(registry, run2)
    assert decision.exit_code == 3 and champion_of(registry) == v1
    failed = [c.gate for c in decision.checks if not c.passed]
    assert failed == ["metric lower_body.lpips"]


def test_minimum_improvement_uses_mlflow_metric_thresholds(registry):
    params = PromoteParams(gates={"lpips": MetricGate(min_improvement=0.05)})
    run1, v1 = register_candidate(registry, figures(lpips=0.4))
    promote(registry, run1, params)
    run2, _ = register_candidate(registry, figures(lpips=0.38), champion=figures(lpips=0.4), champion_version=v1)
    decision = promote(registry, run2, params)
    assert decision.exit_code == 3 and "minimum absolute change" in decision.message
    run3, v3 = register_candidate(registry, figures(lpips=0.3), champion=figures(lpips=0.4), champion_version=v1)
    assert promote(registry, run3, params).outcome == "promoted" and champion_of(registry) == v3


@pytest.mark.parametrize(
    ("kwargs", "reason"),
    [({"lineage": False}, "lineage"), ({"data_gate": "failed"}, "data gate"), ({"data_gate": None}, "data gate")],
)
def test_missing_lineage_or_data_gate_blocks_promotion(registry, kwargs, reason):
    run_id, _ = register_candidate(registry, figures(lpips=0.4), **kwargs)
    decision = promote(registry, run_id)
    assert decision.exit_code == 3 and champion_of(registry) is None
    assert [c.gate for c in decision.checks if not c.passed] == [reason]


def test_too_few_evaluated_pairs_in_a_category_blocks_promotion(registry):
    run_id, _ = register_candidate(registry, figures(lpips=0.4, n=1))
    decision = promote(registry, run_id)
    assert decision.exit_code == 3
    assert {c.gate for c in decision.checks if not c.passed} == {"pairs upper_body", "pairs lower_body"}


def test_promoting_the_same_version_again_changes_nothing(registry):
    run_id, version = register_candidate(registry, figures(lpips=0.4))
    promote(registry, run_id)
    before = read_ledger(registry[0], MODEL)
    again = promote(registry, run_id)
    assert (again.outcome, again.exit_code) == ("kept", 0)
    assert read_ledger(registry[0], MODEL) == before and champion_of(registry) == version


def test_a_challenger_evaluated_against_an_old_champion_is_refused(registry):
    run1, v1 = register_candidate(registry, figures(lpips=0.4))
    promote(registry, run1)
    run2, v2 = register_candidate(registry, figures(lpips=0.3), champion=figures(lpips=0.4), champion_version=v1)
    run3, _ = register_candidate(registry, figures(lpips=0.2), champion=figures(lpips=0.4), champion_version=v1)
    promote(registry, run2)
    decision = promote(registry, run3)
    assert decision.exit_code == 3 and "re-run `vton evaluate`" in decision.message
    assert champion_of(registry) == v2


def test_approval_flow_waits_then_approves_and_records_the_reviewer(registry):
    params = GATES.model_copy(update={"require_approval": True})
    run1, v1 = register_candidate(registry, figures(lpips=0.4))
    decision = promote(registry, run1, params)
    assert (decision.outcome, decision.exit_code) == ("pending", 0) and champion_of(registry) is None
    assert registry[0].get_model_version(MODEL, v1).tags["review"] == "pending"
    text = review_text(registry[0], MODEL)
    assert f"v{v1} awaits review" in text and "overall.lpips" in text
    assert promote(registry, run1, params).outcome == "pending"  # idempotent while waiting
    approved = review_decision(registry[0], MODEL, v1, True, "ada", "grids look right", params, registry[1])
    assert approved.outcome == "promoted" and champion_of(registry) == v1
    last = read_ledger(registry[0], MODEL)[-1]
    assert (last.action, last.by, last.note, last.to_version) == ("approve", "ada", "grids look right", v1)
    tags = registry[0].get_model_version(MODEL, v1).tags
    assert (tags["review"], tags["vton.review_by"]) == ("approved", "ada")


def test_rejection_is_recorded_and_leaves_the_champion(registry):
    params = GATES.model_copy(update={"require_approval": True})
    run1, v1 = register_candidate(registry, figures(lpips=0.4))
    promote(registry, run1, params)
    review_decision(registry[0], MODEL, v1, True, "ada", "", params, registry[1])
    run2, v2 = register_candidate(registry, figures(lpips=0.3), champion=figures(lpips=0.4), champion_version=v1)
    promote(registry, run2, params)
    rejected = review_decision(registry[0], MODEL, v2, False, "grace", "sleeves melt", params, registry[1])
    assert rejected.outcome == "refused" and champion_of(registry) == v1
    last = read_ledger(registry[0], MODEL)[-1]
    assert (last.action, last.by, last.note, last.to_version) == ("reject", "grace", "sleeves melt", v2)
    assert promote(registry, run2, params).exit_code == 3  # a rejected version stays rejected
    with pytest.raises(VtonError):
        review_decision(registry[0], MODEL, v2, True, "ada", "", params, registry[1])


def test_approval_after_the_champion_moved_is_refused(registry):
    params = GATES.model_copy(update={"require_approval": True})
    run1, v1 = register_candidate(registry, figures(lpips=0.4))
    run2, v2 = register_candidate(registry, figures(lpips=0.35))
    promote(registry, run1, params)
    promote(registry, run2, params)
    review_decision(registry[0], MODEL, v1, True, "ada", "", params, registry[1])
    with pytest.raises(GateFailed):
        review_decision(registry[0], MODEL, v2, True, "ada", "", params, registry[1])
    assert champion_of(registry) == v1


def test_rollback_returns_the_champion_to_the_previous_version_and_is_recorded(registry):
    run1, v1 = register_candidate(registry, figures(lpips=0.4))
    promote(registry, run1)
    run2, v2 = register_candidate(registry, figures(lpips=0.3), champion=figures(lpips=0.4), champion_version=v1)
    promote(registry, run2)
    decision = rollback(registry[0], MODEL, "oncall", "bad trousers", GATES, registry[1])
    assert champion_of(registry) == v1 and decision.champion_before == v2
    last = read_ledger(registry[0], MODEL)[-1]
    assert (last.action, last.from_version, last.to_version, last.rollback_target, last.by) == (
        "rollback", v2, v1, v2, "oncall")
    with pytest.raises(VtonError):
        rollback(registry[0], MODEL, "oncall", "", GATES, registry[1])  # v1 replaced nothing
