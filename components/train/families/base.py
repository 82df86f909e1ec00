"""The contract every model family implements: a trainer (`Family.train`) and a predictor (`Predictor`).

The train stage (components/train/stage.py) owns what is shared: preflight, sample selection, the run key,
the MLflow run with its params and lineage tags, metrics.json / loss.csv / loss_curve.png and registration.
A family owns its networks, its training loop (checkpoints, resume, progress, metrics, validation grids)
and the files it writes into the model directory, whose model.json names it under `"family"`.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

from PIL import Image

from components.tracking.contract import Tag

if TYPE_CHECKING:
    from components.annotate.params import AnnotateParams
    from components.train.data import TrainSample
    from components.train.params import TrainParams

FAMILY_KEY = "family"  # model.json's key naming the family that wrote the model directory
DEFAULT_FAMILY = "catvton_flux"  # models written before families existed have no FAMILY_KEY
MODEL_FAMILY_TAG = Tag.MODEL_FAMILY  # tag on the registered model version and the training run
PERCEPTUAL_TAG = Tag.TRAIN_PERCEPTUAL  # "vgg19:<sha256[:12]>" or "unavailable: <reason>"


class Predictor(Protocol):
    """A trained try-on model: person + garment + agnostic mask (white = repaint) + category -> result image."""

    def __call__(
        self,
        person: Image.Image,
        garment: Image.Image,
        mask: Image.Image,
        category: str,
        num_inference_steps: int | None = None,
        seed: int = 0,
    ) -> Image.Image:
        """The try-on result at the person photo's size (steps and seed matter only to sampling families)."""
        ...


def _ignore(*_args, **_kwargs) -> None:
    return None


@dataclass
class FamilyContext:
    """Everything a family's trainer gets from the train stage."""

    params: "TrainParams"
    samples: list["TrainSample"]  # the train split
    val_samples: list["TrainSample"]  # the test split (or the train samples when it is empty), for grids
    checkpoint_dir: Path  # this run's folder (named by the run key): checkpoint-<step>/ inside
    model_dir: Path  # where the packaged model goes (models/candidate), written atomically by the family
    reports_dir: Path  # reports/train
    seed: int = 0
    resume: bool = False
    profile: str = "smoke"
    annotate: "AnnotateParams | None" = None  # how people are annotated; recorded so serving annotates alike
    cache_dir: Path | None = None
    log_metrics: Callable[[dict[str, float], int], None] = _ignore  # (metrics, step) -> the MLflow run
    log_image: Callable[[Image.Image, str], None] = _ignore  # (image, artifact path) -> the MLflow run
    log_params: Callable[[dict[str, Any]], None] = _ignore
    set_tags: Callable[[dict[str, str]], None] = _ignore


@dataclass
class FamilyResult:
    """What a family's training run did; the stage turns it into reports and the registered version."""

    steps: int
    losses: list[tuple[int, float]]  # (optimizer step, the family's headline loss) for loss.csv and the curve
    metrics: dict[str, Any]  # flat figures for metrics.json and MLflow (numbers are logged as train/<key>)
    config: dict[str, Any]  # model.json as written into model_dir (has FAMILY_KEY)
    start_step: int = 0
    resumed_from: str | None = None
    summary: str = ""  # one line for the CLI
    loss_label: str = "loss"  # y axis of the loss curve
    is_main_process: bool = True  # False on the non-zero ranks of a multi-process run: they neither report nor register
    finish: Callable[[], None] = _ignore  # called after registration (e.g. accelerate's end_training)


@dataclass(frozen=True)
class Family:
    """One model family: its params section, trainer and predictor loader (imported on demand)."""

    name: str
    params_model: type | None  # the pydantic class of `train.<name>` (None: the family uses train's own keys)
    train: Callable[[FamilyContext], FamilyResult]
    load_predictor: Callable[[Path, str], Predictor]  # (model_dir, device) -> Predictor
    preflight: Callable[["TrainParams"], None] = field(default=_ignore)  # fail fast (missing weights) before data work
    description: str = ""
