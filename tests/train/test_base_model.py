"""Base models: real-weight profiles fail early and name every missing file; the store layout is assembled."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from components.errors import MissingWeightsError
from components.train.base_model import FLUX_FILL_FILES, preflight, store_entry_name
from components.train.params import TrainParams
from tests.conftest import REPO


def test_preflight_names_every_missing_flux_fill_file(tmp_path, monkeypatch):
    monkeypatch.setenv("VTON_MODEL_CACHE", str(tmp_path / "empty-store"))
    monkeypatch.delenv("VTON_MODELS_AUTO_PULL", raising=False)
    with pytest.raises(MissingWeightsError) as err:
        preflight(TrainParams(base_model="flux-fill-dev"))
    text = str(err.value)
    assert f"{len(FLUX_FILL_FILES)} weight files missing" in text
    assert "flux1-fill-dev.transformer.diffusion_pytorch_model-00001-of-00003.safetensors" in text
    assert "vton models pull" in text


def test_preflight_assembles_a_diffusers_folder_from_store_files(tmp_path, monkeypatch):
    from components.models.store import Catalog, local_path, verify_file

    monkeypatch.setenv("VTON_MODEL_CACHE", str(tmp_path / "store"))
    catalog = Catalog.load()
    for rel in FLUX_FILL_FILES:
        entry = catalog.get(store_entry_name("flux1-fill-dev", rel))
        path = local_path(entry)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(rel)
        verify_file(entry, path, trust=True)  # unpinned entries: vouched for, as `vton models verify --trust` does
    paths = preflight(TrainParams(base_model="flux-fill-dev"), assemble_dir=tmp_path / "assembled")
    folder = paths["pipeline"]
    assert (folder / "transformer" / "config.json").read_text() == "transformer/config.json"
    assert (folder / "model_index.json").is_file()


def test_vton_train_test_profile_without_weights_exits_2_before_touching_data(tmp_path):
    env = {**os.environ, "VTON_MODEL_CACHE": str(tmp_path / "empty"), "VTON_PROJECT_ROOT": str(REPO),
           "MLFLOW_TRACKING_URI": f"sqlite:///{tmp_path / 'mlflow.db'}"}
    env.pop("VTON_MODELS_AUTO_PULL", None)
    proc = subprocess.run([sys.executable, "-m", "components.cli", "train", "--profile", "test", "--no-register"],
                          cwd=tmp_path, env=env, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 2, proc.stderr
    assert "flux1-fill-dev.vae.diffusion_pytorch_model.safetensors" in proc.stderr
    assert not (tmp_path / "mlflow.db").exists()  # failed before any tracking or data work
