"""The gmm_tom family end to end: `train(ctx)` with an MLflow run, the model directory, and its predictor."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from components.train.data import select_samples
from components.train.families import get_family, load_predictor
from components.train.families.base import PERCEPTUAL_TAG, FamilyContext
from components.train.families.checkpoint import latest_checkpoint
from components.train.params import TrainParams


def _ctx(tmp_path: Path, dataset: Path, **gmm_tom) -> FamilyContext:
    tp = TrainParams.model_validate({
        "model": "gmm_tom", "device": "cpu", "num_threads": 1, "checkpoint_every": 5, "checkpoints_to_keep": 1,
        "tracking": {"log_every": 2, "validate_every": 0},
        "gmm_tom": {"gmm_width": 4, "tom_width": 4, "batch_size": 2, "steps": {"gmm": 4, "tom": 4}, **gmm_tom},
    })
    return FamilyContext(params=tp, samples=select_samples(dataset, "train").samples[:6],
                         val_samples=select_samples(dataset, "test").samples[:3], checkpoint_dir=tmp_path / "ckpt",
                         model_dir=tmp_path / "models" / "candidate", reports_dir=tmp_path / "reports", seed=0)


def test_family_is_registered_under_its_name():
    family = get_family("gmm_tom")
    assert family.name == "gmm_tom"
    assert family.params_model is type(TrainParams().gmm_tom)


def test_training_logs_to_mlflow_writes_a_model_and_says_the_perceptual_terms_are_off(
        tmp_path, pair_dataset, mlflow_uri, monkeypatch):
    import mlflow

    monkeypatch.setenv("VTON_MODEL_CACHE", str(tmp_path / "no-models"))  # no VGG19 weights in this store
    monkeypatch.delenv("VTON_MODELS_AUTO_PULL", raising=False)
    ctx = _ctx(tmp_path, pair_dataset)
    images = []
    with mlflow.start_run() as run:
        ctx.log_metrics = lambda m, step: mlflow.log_metrics(m, step=step)
        ctx.log_params = mlflow.log_params
        ctx.set_tags = mlflow.set_tags
        ctx.log_image = lambda image, path: images.append((image, path))
        result = get_family("gmm_tom").train(ctx)
    assert result.steps == 8 and result.config["family"] == "gmm_tom"
    assert [s for s, _ in result.losses] == list(range(1, 9))
    assert result.metrics["perceptual"].startswith("unavailable") and "vgg19" in result.metrics["perceptual"]
    assert result.metrics["gmm_steps_per_s"] > 0 and result.metrics["tom_steps_per_s"] > 0
    assert result.metrics["val_pairs"] == 3 and 0 < result.metrics["val_region_l1"] < 1
    assert result.metrics["val_split"] == "test" and "held-out garment-region L1" in result.summary
    # One labelled sheet after each phase: person | garment | warped garment | composition mask | result | truth.
    assert [p for _, p in images] == ["train/gmm_tom_validation_step000004.png",
                                      "train/gmm_tom_validation_step000008.png", "train/gmm_tom_loss_curves.png"]
    assert images[0][0].width > 6 * 90
    assert latest_checkpoint(ctx.checkpoint_dir).name == "checkpoint-8"
    assert (ctx.model_dir / "model.json").is_file() and (ctx.model_dir / "weights.safetensors").is_file()

    client = mlflow.tracking.MlflowClient()
    stored = client.get_run(run.info.run_id).data
    assert stored.tags[PERCEPTUAL_TAG].startswith("unavailable")
    assert stored.params["train.gmm_tom.perceptual_status"].startswith("unavailable")
    gmm_curve = client.get_metric_history(run.info.run_id, "train/gmm_loss")
    tom_curve = client.get_metric_history(run.info.run_id, "train/tom_l1")
    assert [m.step for m in gmm_curve] == [2, 4] and [m.step for m in tom_curve] == [6, 8]
    assert "train/tom_vgg" not in stored.metrics  # never a random VGG standing in for a perceptual loss


def test_without_a_test_split_the_figures_say_they_are_on_training_pairs(tmp_path, pair_dataset):
    ctx = _ctx(tmp_path, pair_dataset)
    ctx.val_samples = ctx.samples[:2]
    result = get_family("gmm_tom").train(ctx)
    assert result.metrics["val_split"] == "train (no test split)" and "held-out" not in result.summary


def test_resume_continues_in_the_tom_phase(tmp_path, pair_dataset):
    ctx = _ctx(tmp_path, pair_dataset)
    get_family("gmm_tom").train(ctx)
    again = _ctx(tmp_path, pair_dataset, steps={"gmm": 4, "tom": 6})
    again.resume = True
    result = get_family("gmm_tom").train(again)
    assert result.resumed_from == "checkpoint-8" and result.start_step == 8 and result.steps == 10


def test_predictor_returns_an_image_of_the_persons_size(tmp_path, pair_dataset):
    ctx = _ctx(tmp_path, pair_dataset)
    get_family("gmm_tom").train(ctx)
    predictor = load_predictor(ctx.model_dir)
    sample = ctx.val_samples[0]
    with Image.open(sample.person) as p, Image.open(sample.garment) as g, Image.open(sample.mask) as m:
        person, garment, mask = p.convert("RGB"), g.convert("RGB"), m.convert("L")
    # Use the stored annotations, as the predictor's batch path does for a manifest sample.
    from components.train.families.representation import load_sample_inputs

    inputs = load_sample_inputs(sample, (48, 64))
    out = predictor.predict_inputs([inputs])
    assert out.shape == (1, 3, 64, 48) and float(out.abs().max()) <= 1.0
    from components.train.families.representation import to_photo

    photo = to_photo(out[0], inputs, person.resize((150, 200)), mask.resize((150, 200)))
    assert photo.size == (150, 200)


def test_predictor_on_a_bare_photo_annotates_it_and_returns_the_persons_size(tmp_path, pair_dataset, real_photos):
    ctx = _ctx(tmp_path, pair_dataset)
    get_family("gmm_tom").train(ctx)
    predictor = load_predictor(ctx.model_dir)
    person = real_photos["astronaut"].resize((150, 150))
    garment = Image.open(select_samples(pair_dataset, "test").samples[0].garment).convert("RGB")
    mask = Image.new("L", person.size, 0)
    mask.paste(255, (30, 60, 120, 140))
    out = predictor(person, garment, mask, "upper_body")
    assert out.size == person.size and out.mode == "RGB"
    keep = np.asarray(mask) < 128
    assert np.array_equal(np.asarray(out)[keep], np.asarray(person)[keep])


def test_weights_that_do_not_match_model_json_are_refused_with_a_fix(tmp_path, pair_dataset):
    import json

    from components.errors import ConfigError

    ctx = _ctx(tmp_path, pair_dataset)
    get_family("gmm_tom").train(ctx)
    cfg = json.loads((ctx.model_dir / "model.json").read_text())
    cfg["params"]["tom_width"] = 8
    (ctx.model_dir / "model.json").write_text(json.dumps(cfg))
    with pytest.raises((ConfigError, RuntimeError)) as err:
        load_predictor(ctx.model_dir)
    assert "model.json" in str(err.value) or "size mismatch" in str(err.value)


def test_vton_train_stage_registers_a_gmm_tom_model_whose_pyfunc_returns_the_persons_size(
        tmp_path, pair_dataset, mlflow_uri, monkeypatch, real_photos):
    import base64
    import io
    import json

    import mlflow
    import pandas as pd

    from components.params import Params
    from components.project import project_root
    from components.train.stage import run as train_stage

    monkeypatch.setenv("VTON_MODEL_CACHE", str(tmp_path / "no-models"))
    params = Params.model_validate({
        "train": {"model": "gmm_tom", "device": "cpu", "num_threads": 1, "checkpoint_every": 4,
                  "tracking": {"log_every": 2, "validate_every": 0},
                  "gmm_tom": {"gmm_width": 4, "tom_width": 4, "batch_size": 2, "steps": {"gmm": 3, "tom": 3}}},
        "paths": {"augmented": str(pair_dataset), "models": str(tmp_path / "models"),
                  "reports": str(tmp_path / "reports")},
        "project": {"registered_model": "tryon-gmm-tom"},
    })
    out = train_stage(params, project_root())
    metrics = json.loads((out.reports_dir / "metrics.json").read_text())
    assert metrics["family"] == "gmm_tom" and metrics["steps"] == 6
    assert metrics["perceptual"].startswith("unavailable")
    assert (out.reports_dir / "loss.csv").read_text().count("\n") == 7  # header + 6 steps
    registered = json.loads((out.model_dir / "registered.json").read_text())
    version = mlflow.tracking.MlflowClient().get_model_version("tryon-gmm-tom", registered["version"])
    assert version.tags.get("vton.model.family") == "gmm_tom"

    def b64(image) -> str:
        buf = io.BytesIO()
        (image if isinstance(image, Image.Image) else Image.open(image)).save(buf, format="PNG")
        return base64.b64encode(buf.getvalue()).decode()

    # A bare photo of one person (the synthetic pairs' fabric can itself show a face, which the annotators'
    # person check rightly counts as a second person when the photo is annotated on the fly).
    sample = select_samples(pair_dataset, "test").samples[0]
    person = real_photos["astronaut"].resize((200, 240))
    model = mlflow.pyfunc.load_model(registered["model_uri"])
    result = model.predict(pd.DataFrame([{"person": b64(person), "garment": b64(sample.garment),
                                          "category": "upper_body"}]))
    image = Image.open(io.BytesIO(base64.b64decode(result["image"][0])))
    assert image.size == person.size
