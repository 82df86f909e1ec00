"""The two models an evaluation compares: the candidate on disk and the registry's current champion.

Both become a scoring `Generator`; the champion is downloaded from the registry (`models:/<name>@champion`)
and loaded through the same family contract as the candidate (components/train/families: whichever family
each model.json names), with the same seed and steps, so challenger and champion compare across families.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

from PIL import Image

from components.evaluate.pairs import EvalPair
from components.evaluate.scoring import Generator


@dataclass
class CandidateInfo:
    """The registered model version the train stage created for models/candidate (None when unregistered)."""

    name: str | None
    version: str | None
    run_id: str | None


def read_candidate_info(model_dir: Path) -> CandidateInfo:
    """What models/candidate/registered.json names."""
    path = model_dir / "registered.json"
    if not path.is_file():
        return CandidateInfo(None, None, None)
    data = json.loads(path.read_text())
    version = data.get("version")
    return CandidateInfo(data.get("name"), str(version) if version is not None else None, data.get("run_id"))


def pipeline_generator(model_dir: Path, steps: int, seed: int) -> Generator:
    """A Generator running the predictor of `model_dir`'s family (components/train/families)."""
    from components.train.families import load_predictor

    return predictor_generator(load_predictor(model_dir, device="cpu"), steps, seed)


def predictor_generator(pipe, steps: int, seed: int) -> Generator:
    """A loaded predictor as a Generator: how evaluate calls a model, here and on a Ray actor alike."""

    def generate(pair: EvalPair, person: Image.Image, garment: Image.Image, mask: Image.Image) -> Image.Image:
        # The pair's requested fit: a size-aware model follows it, a size-blind one says once that it cannot.
        extra = {"size_ratios": pair.requested_ratios} if pair.requested_ratios is not None else {}
        return pipe(person, garment, mask, pair.category, num_inference_steps=steps, seed=seed, **extra)

    return generate


def champion_version(client, name: str) -> str | None:
    """The version the `champion` alias points at, or None (no registered model or no champion yet)."""
    from mlflow.exceptions import MlflowException

    try:
        return str(client.get_model_version_by_alias(name, "champion").version)
    except MlflowException:
        return None


def champion_model_dir(client, name: str, version: str, target: Path) -> Path:
    """Download champion `version` of `name` into `target` (the caller removes it); the directory of its model.json."""
    import mlflow
    from components.errors import ConfigError
    from components.train.families import find_model_dir

    local = Path(mlflow.artifacts.download_artifacts(artifact_uri=f"models:/{name}/{version}", dst_path=str(target)))
    model_dir = find_model_dir(local)
    if model_dir is None:
        raise ConfigError(f"champion {name} v{version}: no model.json in its artifacts ({local})",
                          hint="register models with `vton train` (components/train/package.py)")
    return model_dir


