"""Which module implements each model family named by params.yaml's `train.model`, and loading any trained model.

Entries are "module:attribute" strings naming a `Family` (components/train/families/base.py), so choosing a
family imports only that family's code. To add a family: one line here, the name in `train.model`'s Literal
(components/train/params.py), and its params section as `train.<name>`.
"""

from __future__ import annotations

import importlib
import json
from pathlib import Path

from components.errors import ConfigError
from components.train.families.base import DEFAULT_FAMILY, FAMILY_KEY, Family, Predictor

# name -> "module:Family object"
FAMILIES: dict[str, str] = {
    "catvton_flux": "components.train.families.catvton_flux:FAMILY",
    "unet_gan": "components.train.families.unet_gan.family:FAMILY",
    "gmm_tom": "components.train.families.gmm_tom.family:FAMILY",
}

MODEL_CONFIG = "model.json"


def get_family(name: str) -> Family:
    """The Family registered as `name`, imported on demand."""
    try:
        target = FAMILIES[name]
    except KeyError:
        raise ConfigError(
            f"train.model: no model family named {name!r} is registered",
            hint=f"use one of {sorted(FAMILIES)} or register it in components/train/families/__init__.py",
        ) from None
    module, _, attr = target.partition(":")
    try:
        return getattr(importlib.import_module(module), attr)
    except ModuleNotFoundError as exc:
        if exc.name and module.startswith(exc.name):
            raise ConfigError(f"model family {name!r}: its module {module} is not in this checkout",
                              hint=f"choose another train.model ({sorted(FAMILIES)})") from None
        raise


def read_model_config(model_dir: Path | str) -> dict:
    """model.json of a trained model directory, or a ConfigError naming the folder."""
    path = Path(model_dir) / MODEL_CONFIG
    if not path.is_file():
        raise ConfigError(f"{path}: not found; {model_dir} is not a trained try-on model",
                          hint="run `vton train` first (it writes models/candidate)")
    return json.loads(path.read_text())


def find_model_dir(root: Path | str) -> Path | None:
    """The shallowest folder under `root` that holds a model.json (a downloaded model's artifacts)."""
    hits = sorted(Path(root).rglob(MODEL_CONFIG), key=lambda p: len(p.parts))
    return hits[0].parent if hits else None


def family_of(config: dict) -> str:
    """The family a model.json belongs to (models written before families existed are CatVTON-Flux)."""
    return str(config.get(FAMILY_KEY) or DEFAULT_FAMILY)


def load_predictor(model_dir: Path | str, device: str = "cpu") -> Predictor:
    """The predictor of whichever family trained `model_dir` (model.json's "family")."""
    name = family_of(read_model_config(model_dir))
    return get_family(name).load_predictor(Path(model_dir), device)


__all__ = ["FAMILIES", "Family", "Predictor", "family_of", "get_family", "load_predictor", "read_model_config"]
