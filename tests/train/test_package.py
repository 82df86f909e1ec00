"""The trained candidate: LoRA in diffusers format, TryOnPipeline, and the pyfunc served from the registry."""

from __future__ import annotations

import base64
import io
import json

import numpy as np
import pandas as pd
import pytest
import torch
from PIL import Image

from components.train.adapters import LORA_WEIGHT_NAME, save_trained
from components.train.data import select_samples
from components.train.inference import TryOnPipeline
from components.train.package import model_config, save_base_snapshot, write_candidate
from components.train.tiny import build_tiny_fill_pipeline
from components.train.trainer import Trainer
from tests.train.conftest import tiny_params


def _trained(tmp_path, dataset, **overrides):
    params = tiny_params(tmp_path, learning_rate=2e-2, **overrides)
    trainer = Trainer(params, select_samples(dataset).samples, tmp_path / "ckpt")
    base_dir = save_base_snapshot(build_tiny_fill_pipeline(params.tiny), tmp_path / "cache", trainer.base.fingerprint)
    trainer.fit()
    return params, trainer, base_dir


def _render(pipe) -> np.ndarray:
    img = Image.new("RGB", (64, 32), (200, 120, 60))
    mask = Image.new("L", (64, 32), 0)
    mask.paste(255, (32, 0, 64, 32))
    out = pipe(prompt="a top", image=img, mask_image=mask, height=32, width=64, num_inference_steps=2,
               max_sequence_length=32, generator=torch.Generator().manual_seed(0)).images[0]
    return np.asarray(out, dtype=np.int16)


def test_saved_lora_loads_into_a_flux_fill_pipeline_and_changes_its_output(tmp_path, dataset):
    params, trainer, _ = _trained(tmp_path, dataset)
    save_trained(tmp_path / "lora", trainer.unwrapped_transformer(), params)
    pipe = build_tiny_fill_pipeline(params.tiny)
    pipe.set_progress_bar_config(disable=True)
    before = _render(pipe)
    pipe.load_lora_weights(str(tmp_path / "lora"), weight_name=LORA_WEIGHT_NAME)
    after = _render(pipe)
    assert np.abs(after - before).max() > 0


def test_try_on_pipeline_returns_the_person_sized_result_from_the_candidate_dir(tmp_path, dataset):
    params, trainer, base_dir = _trained(tmp_path, dataset, mode="attention")
    cfg = model_config(params, trainer.base.spec, "smoke", steps=4)
    model_dir = write_candidate(tmp_path / "candidate", trainer.unwrapped_transformer(), params, cfg,
                                base_dir=base_dir)
    assert json.loads((model_dir / "model.json").read_text())["mode"] == "attention"
    pipe = TryOnPipeline.from_pretrained(model_dir)
    person = Image.open(dataset / "person_1.png")
    out = pipe(person, Image.open(dataset / "garment_1.png"), Image.open(dataset / "mask_1.png"), "lower_body",
               num_inference_steps=2, seed=0)
    assert out.size == person.size
    # the fine-tuned attention weights were loaded over the saved base
    tuned = dict(trainer.unwrapped_transformer().named_parameters())
    name = next(n for n, p in tuned.items() if p.requires_grad)
    torch.testing.assert_close(dict(pipe.pipe.transformer.named_parameters())[name], tuned[name].float())


def _b64(path) -> str:
    buf = io.BytesIO()
    Image.open(path).save(buf, format="PNG")
    return base64.b64encode(buf.getvalue()).decode()


def test_pyfunc_from_the_registry_returns_a_try_on_image_of_the_person_size(tmp_path, dataset, mlflow_uri):
    import mlflow

    from components.params import Params
    from components.project import project_root
    from components.train.stage import run as train_stage

    params = Params.model_validate({
        "train": tiny_params(tmp_path, max_steps=2, gate={"enabled": False}).model_dump(),
        "paths": {"augmented": str(dataset), "models": str(tmp_path / "models"),
                  "reports": str(tmp_path / "reports")},
        "project": {"registered_model": "tryon-test"},
    })
    out = train_stage(params, project_root())
    registered = json.loads((out.model_dir / "registered.json").read_text())
    assert registered["model_uri"] == f"models:/tryon-test/{registered['version']}"
    metrics = json.loads((out.reports_dir / "metrics.json").read_text())
    assert metrics["steps"] == 2 and (out.reports_dir / "loss.csv").is_file()

    model = mlflow.pyfunc.load_model(registered["model_uri"])
    frame = pd.DataFrame([{"person": _b64(dataset / "person_0.png"), "garment": _b64(dataset / "garment_0.png"),
                           "category": "upper_body", "mask": _b64(dataset / "mask_0.png")}])
    result = model.predict(frame)
    image = Image.open(io.BytesIO(base64.b64decode(result["image"][0])))
    assert image.size == Image.open(dataset / "person_0.png").size


def test_a_catvton_flux_candidate_infers_with_guidance_thirty_and_its_one_training_prompt(tmp_path, dataset):
    params, trainer, base_dir = _trained(tmp_path, dataset, recipe="catvton_flux", gradient_accumulation_steps=1,
                                         max_steps=2)
    cfg = model_config(params, trainer.base.spec, "smoke", steps=2)
    assert (cfg["recipe"], cfg["guidance_scale"], cfg["train_guidance_scale"]) == ("catvton_flux", 30.0, 1.0)
    assert len(set(cfg["prompts"].values())) == 1 and cfg["prompts"]["dresses"] == params.prompt
    model_dir = write_candidate(tmp_path / "candidate", trainer.unwrapped_transformer(), params, cfg,
                                base_dir=base_dir)
    tryon = TryOnPipeline.from_pretrained(model_dir)
    seen = []
    real = tryon.pipe

    class Spy:
        def __call__(self, **kwargs):
            seen.append(kwargs["guidance_scale"])
            return real(**kwargs)

        def __getattr__(self, name):
            return getattr(real, name)

    tryon.pipe = Spy()
    tryon(Image.open(dataset / "person_0.png"), Image.open(dataset / "garment_0.png"),
          Image.open(dataset / "mask_0.png"), "upper_body", num_inference_steps=1)
    assert seen == [30.0]


def test_a_size_aware_model_is_trained_with_one_param_tagged_in_the_registry_and_served_with_a_fit(
        tmp_path, real_photos, mlflow_uri, capsys):
    import mlflow

    from components.params import Params
    from components.project import project_root
    from components.train.families.base import SIZE_MAP_TAG, SIZE_TAG
    from components.train.stage import run as train_stage
    from tests.train.conftest import make_dataset

    dataset = make_dataset(tmp_path / "sized", real_photos, ratios=True)  # fit_* columns filled
    params = Params.model_validate({
        "train": {**tiny_params(tmp_path, max_steps=2, gate={"enabled": False}).model_dump(),
                  "size_conditioning": True},
        "paths": {"augmented": str(dataset), "models": str(tmp_path / "models"), "reports": str(tmp_path / "reports")},
        "project": {"registered_model": "tryon-size"},
    })
    out = train_stage(params, project_root())
    config = json.loads((out.model_dir / "model.json").read_text())
    assert config["size_conditioning"]["enabled"] and config["size_conditioning"]["fit"]["thresholds"]
    assert (out.model_dir / "adapter" / "size_conditioning.safetensors").is_file()
    # ... and the size map through the mask path, its x_embedder columns beside the adapter.
    assert config["size_conditioning"]["map"] == "mask_path" and config["annotate"]
    assert (out.model_dir / "adapter" / "size_map_embedder.safetensors").is_file()
    registered = json.loads((out.model_dir / "registered.json").read_text())
    version = mlflow.MlflowClient().get_model_version("tryon-size", registered["version"])
    assert version.tags[SIZE_TAG] == "on" and registered["size_conditioning"] == "on"
    assert mlflow.get_run(registered["run_id"]).data.tags[SIZE_TAG] == "on"
    assert version.tags[SIZE_MAP_TAG] == "mask_path" and registered["size_map"] == "mask_path"
    assert mlflow.get_run(registered["run_id"]).data.tags[SIZE_MAP_TAG] == "mask_path"

    model = mlflow.pyfunc.load_model(registered["model_uri"])
    row = {"person": _b64(dataset / "person_0.png"), "garment": _b64(dataset / "garment_0.png"),
           "category": "upper_body", "mask": _b64(dataset / "mask_0.png")}
    by_label = model.predict(pd.DataFrame([{**row, "fit": "loose"}]))
    by_ratios = model.predict(pd.DataFrame([row]), params={"width_ratio": 1.4, "length_ratio": 1.0})
    as_worn = model.predict(pd.DataFrame([row]))
    for result in (by_label, by_ratios, as_worn):
        assert Image.open(io.BytesIO(base64.b64decode(result["image"][0]))).size == \
            Image.open(dataset / "person_0.png").size
    err = capsys.readouterr().err
    assert "ignored" not in err and "stands in for the size map" not in err  # every photo's map was drawn
    with pytest.raises(ValueError, match="unknown fit label"):
        model.predict(pd.DataFrame([{**row, "fit": "baggy"}]))
