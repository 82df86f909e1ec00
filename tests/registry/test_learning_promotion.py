"""Real retrains against the promotion gates: a second retrain with more steps dresses the held-out people better
by the gates and becomes champion, and a worse one is refused.

Everything real, as the retrain flow runs it minus Prefect: the bundled sample through `dvc repro validate` in
a temp project, then per retrain one MLflow run (SQLite) carrying lineage, the smoke family (GMM + TOM)
trained by the train stage, the evaluate stage (the champion re-scored on the same test pairs) and the
registry's gates.

On the bundled sample (two training people, all three categories, held-out test people) TOM trained for the
smoke profile's 300 steps dresses the held-out people better than TOM stopped after 30 steps in every category
(measured: garment-region IoU 0.706 / 0.559 / 0.672 vs 0.676 / 0.544 / 0.665 for upper body / lower body /
dresses, SSIM 0.908 vs 0.895 overall); both beat copying the agnostic image (garment-region L1 0.181 and 0.183
vs 0.267). So the longer run is the better challenger; the gates promote it and refuse the shorter one.
"""

from __future__ import annotations

import pytest
import yaml

from tests.conftest import run

pytestmark = [pytest.mark.slow, pytest.mark.timeout(900)]

TOM_SHORT = 30
# A challenger must dress the held-out people better in every category and overall: its garment region (pixels
# of the garment's colours, components/evaluate/README.md) must match the worn garment's by more IoU, and the
# whole picture must match the photo by more SSIM. 300 vs 30 TOM steps clear both by 0.006 or more everywhere.
STRICT_GATES = {"mask_iou_paired": {"min_improvement": 0.003}, "ssim": {"min_improvement": 0.003}}


def _set_train_steps(ws, steps: dict) -> None:
    path = ws / "params.yaml"
    doc = yaml.safe_load(path.read_text())
    doc["profiles"]["smoke"]["train"]["gmm_tom"]["steps"] = steps
    doc["profiles"]["smoke"]["promote"]["gates"].update(STRICT_GATES)
    path.write_text(yaml.safe_dump(doc, sort_keys=False))
    run(["git", "commit", "-qam", f"train {steps}"], ws)


def _retrain(ws, monkeypatch, resume: bool):
    """One retrain of the smoke profile: train, evaluate (against the champion), promote; (run id, decision)."""
    from components.evaluate.stage import run as evaluate_stage
    from components.params import load_params
    from components.registry.promotion import promote_run
    from components.tracking.mlflow_run import RUN_ID_ENV
    from components.tracking.service import TrackingService
    from components.train.stage import run as train_stage

    params = load_params(ws / "params.yaml")
    service = TrackingService(ws)
    run_id = service.start_retrain(service.experiment(params.project.mlflow_experiment), "smoke", params, None)
    monkeypatch.setenv(RUN_ID_ENV, run_id)
    train_stage(params, ws, resume=resume)
    evaluate_stage(params, ws)
    monkeypatch.delenv(RUN_ID_ENV)
    service.end_retrain(run_id, "FINISHED", {})
    return run_id, promote_run(service.client, params.project.registered_model, run_id, params.promote, ws)


def test_the_gates_promote_the_retrain_with_more_steps_that_dresses_held_out_people_better_and_refuse_a_worse_one(
        workspace, monkeypatch):
    import mlflow

    from components.params import load_params

    run(["dvc", "repro", "validate"], workspace)  # import, annotate, augment and the data gate, for real
    smoke = load_params(workspace / "params.yaml").train.gmm_tom.steps.model_dump()  # the smoke profile's steps
    short = {"gmm": smoke["gmm"], "tom": TOM_SHORT}
    assert smoke["tom"] > short["tom"]

    _set_train_steps(workspace, short)  # a first retrain that stops TOM early
    first_run, first = _retrain(workspace, monkeypatch, resume=False)
    assert first.outcome == "promoted" and first.champion_before is None, first.message

    _set_train_steps(workspace, smoke)  # a second retrain with the smoke profile's (more) TOM steps
    second_run, second = _retrain(workspace, monkeypatch, resume=False)
    assert second.outcome == "promoted", second.message
    assert (second.champion_before, second.champion_after) == (first.version, second.version)

    client = mlflow.MlflowClient()
    m1, m2 = client.get_run(first_run).data.metrics, client.get_run(second_run).data.metrics
    # The champion was re-scored on the same pairs: the same figures as its own evaluation.
    for figure in ("psnr", "ssim", "lpips", "mask_iou_paired"):
        assert m2[f"eval.champion.overall.{figure}"] == pytest.approx(m1[f"eval.overall.{figure}"], abs=1e-4)
    for scope in ("upper_body", "lower_body", "dresses", "overall"):
        assert m2[f"eval.{scope}.mask_iou_paired"] > m1[f"eval.{scope}.mask_iou_paired"] + 0.003
        assert m2[f"eval.{scope}.ssim"] > m1[f"eval.{scope}.ssim"] + 0.003

    # The short run again (a fresh run, seeded: the first run's weights) gives the first run's worse figures:
    # the gates refuse it and the longer run stays champion.
    _set_train_steps(workspace, short)
    third_run, third = _retrain(workspace, monkeypatch, resume=False)
    assert third.outcome == "refused" and third.exit_code == 3, third.message
    assert third.champion_after == second.version
    assert "metric overall.mask_iou_paired" in [c.gate for c in third.checks if not c.passed], third.message
    m3 = client.get_run(third_run).data.metrics
    assert client.get_run(third_run).data.params["train.gmm_tom.steps.tom"] == str(TOM_SHORT)
    assert m3["eval.overall.mask_iou_paired"] == pytest.approx(m1["eval.overall.mask_iou_paired"], abs=1e-4)
    aliases = client.get_registered_model("vton-tryon").aliases
    assert (str(aliases["champion"]), str(aliases["challenger"])) == (second.version, third.version)
