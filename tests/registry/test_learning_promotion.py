"""A retrain that trained longer beats the champion by the gates and takes its place; a worse one is refused.

Everything real, as the retrain flow runs it minus Prefect: the bundled sample through `dvc repro validate` in
a temp project, then per retrain one MLflow run (SQLite) carrying lineage, the smoke family (GMM + TOM)
trained by the train stage (`--resume`, as dvc.yaml runs it), the evaluate stage (the champion re-scored on the
same test pairs) and the registry's promotion gates.
"""

from __future__ import annotations

import pytest
import yaml

from tests.conftest import run

pytestmark = [pytest.mark.slow, pytest.mark.timeout(900)]

# GMM trains first, then TOM; a resumed run never repeats a finished phase, so the short run trains the
# smoke profile's GMM steps and stops TOM early: the longer run continues TOM to the smoke profile's end.
TOM_SHORT = 10
# The challenger must be better in every category and overall: PSNR by a margin, LPIPS and SSIM no worse.
STRICT_GATES = {"psnr": {"min_improvement": 0.1}, "lpips": {"max_regression": 0.0}, "ssim": {"max_regression": 0.0}}


def _set_train_steps(ws, steps: dict) -> None:
    path = ws / "params.yaml"
    doc = yaml.safe_load(path.read_text())
    doc["profiles"]["smoke"]["train"]["gmm_tom"]["steps"] = steps
    doc["profiles"]["smoke"]["promote"]["gates"].update(STRICT_GATES)
    path.write_text(yaml.safe_dump(doc, sort_keys=False))
    run(["git", "commit", "-qam", f"train {steps}"], ws)


def _retrain(ws, monkeypatch, resume: bool = True):
    """One retrain of the smoke profile: train, evaluate (against the champion), promote; (run id, decision)."""
    from components.params import load_params
    from components.registry.promotion import promote_run
    from components.tracking.mlflow_run import RUN_ID_ENV
    from components.tracking.service import TrackingService
    from components.evaluate.run import evaluate_stage
    from components.train.stage import train_stage

    params = load_params(ws / "params.yaml")
    service = TrackingService(ws)
    run_id = service.start_retrain(service.experiment(params.project.mlflow_experiment), "smoke", params, None)
    monkeypatch.setenv(RUN_ID_ENV, run_id)
    train_stage(params, ws, resume=resume)
    evaluate_stage(params, ws)
    monkeypatch.delenv(RUN_ID_ENV)
    service.end_retrain(run_id, "FINISHED", {})
    return run_id, promote_run(service.client, params.project.registered_model, run_id, params.promote, ws)


def test_a_retrain_with_more_steps_becomes_champion_and_a_worse_one_is_refused(workspace, monkeypatch):
    import mlflow

    from components.params import load_params

    run(["dvc", "repro", "validate"], workspace)  # import, annotate, augment and the data gate, for real
    longer = load_params(workspace / "params.yaml").train.gmm_tom.steps.model_dump()  # the smoke profile's
    short = {"gmm": longer["gmm"], "tom": TOM_SHORT}
    assert longer["tom"] > short["tom"]

    _set_train_steps(workspace, short)
    first_run, first = _retrain(workspace, monkeypatch)
    assert first.outcome == "promoted" and first.champion_before is None, first.message

    _set_train_steps(workspace, longer)  # the same run resumed from its checkpoint, trained further
    second_run, second = _retrain(workspace, monkeypatch)
    assert second.outcome == "promoted", second.message
    assert (second.champion_before, second.champion_after) == (first.version, second.version)

    client = mlflow.MlflowClient()
    m1, m2 = client.get_run(first_run).data.metrics, client.get_run(second_run).data.metrics
    # The champion was re-scored on the same pairs: the same figures as its own evaluation.
    for figure in ("psnr", "ssim", "lpips"):
        assert m2[f"eval.champion.overall.{figure}"] == pytest.approx(m1[f"eval.overall.{figure}"], abs=1e-4)
    assert m2["eval.overall.psnr"] > m1["eval.overall.psnr"] + STRICT_GATES["psnr"]["min_improvement"]
    steps = [client.get_run(r).data.params["train.gmm_tom.steps.tom"] for r in (first_run, second_run)]
    assert steps == [str(TOM_SHORT), str(longer["tom"])]

    # A fresh run (no --resume) with the first run's few TOM steps is worse than the champion: the gates refuse it.
    _set_train_steps(workspace, short)
    third_run, third = _retrain(workspace, monkeypatch, resume=False)
    assert third.outcome == "refused" and third.exit_code == 3, third.message
    assert third.champion_after == second.version
    failed = [c.gate for c in third.checks if not c.passed]
    assert "metric overall.psnr" in failed, third.message
    aliases = client.get_registered_model("vton-tryon").aliases
    assert aliases["champion"] == second.version and aliases["challenger"] == third.version
