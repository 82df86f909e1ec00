"""Masks for bare photos are made with the annotate settings the model recorded, in `vton tryon` (TryOn) and in
the registered pyfunc, each photo annotated once for mask and predictor; a model that recorded none says so."""

from __future__ import annotations

import importlib.util
import json
import shutil
from pathlib import Path
from types import SimpleNamespace

import numpy as np
from PIL import Image

from components.annotate.params import AnnotateParams
from components.train.data import select_samples
from components.tryon.run import Pair, TryOn

REPO = Path(__file__).resolve().parents[2]
RECORDED = AnnotateParams(width=96, height=128, mask={"dilate_px": 2})  # what the model's data was annotated with
PROJECT = AnnotateParams()  # the project's settings today: another frame size and mask dilation


def _recording(model_dir: Path, tmp_path: Path, settings: AnnotateParams | None) -> Path:
    """A copy of `model_dir` whose model.json records `settings` (as the train stage records params.annotate)."""
    copy = tmp_path / "model"
    shutil.copytree(model_dir, copy)
    config = json.loads((copy / "model.json").read_text())
    config["annotate"] = settings.model_dump(mode="json") if settings is not None else None
    (copy / "model.json").write_text(json.dumps(config))
    return copy


def _person(worn_dataset: Path) -> Path:
    return worn_dataset.parent / "photos" / "astronaut_full.png"


def test_tryon_makes_masks_with_the_models_recorded_settings_and_annotates_each_photo_once(
        tmp_path, worn_dataset, unet_gan_model):
    tryon = TryOn(_recording(unet_gan_model, tmp_path, RECORDED), PROJECT)
    assert tryon.annotate == RECORDED and tryon.note is None
    garment = select_samples(worn_dataset, "test").samples[0].garment
    result = tryon.run(Pair(_person(worn_dataset), garment, "upper_body"))
    assert result.size == Image.open(_person(worn_dataset)).size
    # The mask and the predictor's person representation come from one annotation of the photo.
    assert tryon.annotation_summary().startswith("annotations: 1 computed, 1 reused")


def test_a_model_that_recorded_no_settings_makes_masks_with_the_projects_and_says_so(tmp_path, unet_gan_model):
    project = AnnotateParams(width=96, height=128)
    tryon = TryOn(_recording(unet_gan_model, tmp_path, None), project)
    assert tryon.annotate == project
    assert "records no annotate settings" in tryon.note and "params.yaml" in tryon.note


def _pyfunc(model_dir: Path):
    spec = importlib.util.spec_from_file_location("tryon_model_under_test", REPO / "mlflow" / "tryon_model.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    model = module.TryOnModel()
    model.load_context(SimpleNamespace(artifacts={"model_dir": str(model_dir)}))
    return model


def test_the_pyfunc_makes_a_missing_mask_with_the_models_recorded_settings(tmp_path, worn_dataset, unet_gan_model):
    from components.train.automask import agnostic_mask_for_image

    person = Image.open(_person(worn_dataset)).convert("RGB")
    model = _pyfunc(_recording(unet_gan_model, tmp_path, RECORDED))
    mask = np.asarray(model._mask_for(person, "upper_body"))
    assert np.array_equal(mask, np.asarray(agnostic_mask_for_image(person, "upper_body", RECORDED)))
    assert not np.array_equal(mask, np.asarray(agnostic_mask_for_image(person, "upper_body", PROJECT)))


def test_a_folder_holding_a_model_somewhere_below_resolves_to_the_shallowest_model_folder(tmp_path):
    from components.tryon.run import resolve_model

    for folder in (tmp_path / "artifacts" / "model_dir", tmp_path / "artifacts" / "model_dir" / "old" / "copy"):
        folder.mkdir(parents=True)
        (folder / "model.json").write_text("{}")
    assert resolve_model(str(tmp_path), tmp_path, tmp_path / "unused") == tmp_path / "artifacts" / "model_dir"
