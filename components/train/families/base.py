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

from components.tracking.contract import Tag

if TYPE_CHECKING:  # annotations only: params loading imports this module, and needs no PIL
    from PIL import Image

    from components.annotate.params import AnnotateParams
    from components.fit.params import FitParams
    from components.train.data import TrainSample
    from components.train.params import TrainParams

FAMILY_KEY = "family"  # model.json's key naming the family that wrote the model directory
DEFAULT_FAMILY = "catvton_flux"  # models written before families existed have no FAMILY_KEY
MODEL_FAMILY_TAG = Tag.MODEL_FAMILY  # tag on the registered model version and the training run
PERCEPTUAL_TAG = Tag.TRAIN_PERCEPTUAL  # "vgg19:<sha256[:12]>" or "unavailable: <reason>"
SIZE_CONFIG_KEY = "size_conditioning"  # model.json: {"enabled", "columns", "map" (SIZE_MAP_KEY), "fit" (thresholds)}
SIZE_TAG = Tag.MODEL_SIZE_CONDITIONING  # tag on the registered model version and the training run: on | off
SIZE_MAP_TAG = Tag.MODEL_SIZE_MAP  # tag on the registered model version and the training run: a SizeMapInput value
SIZE_MAP_KEY = "map"  # model.json size_conditioning["map"]: how the model reads the spatial size map


class SizeMapInput:
    """How a model reads the spatial size map (model.json size_conditioning["map"], tag SIZE_MAP_TAG)."""

    MASK_PATH = "mask_path"  # CatVTON-Flux: packed channels after FLUX Fill's mask (components/train/size_map.py)
    INPUT_CHANNELS = "input_channels"  # the baselines: extra input planes of their first convolutions
    NONE = "none"  # size-blind, or a CatVTON-Flux model from before the map (the pooled offset only)


def size_map_input_for(family: str, enabled: bool) -> str:
    """How a model of `family` trained now reads the size map (SizeMapInput), with size conditioning `enabled`."""
    if not enabled:
        return SizeMapInput.NONE
    return SizeMapInput.MASK_PATH if family == "catvton_flux" else SizeMapInput.INPUT_CHANNELS


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
        size_ratios: tuple[float, float, float] | None = None,
    ) -> Image.Image:
        """The try-on result at the person photo's size (steps and seed matter only to sampling families).

        `size_ratios` (components/fit's width, length, span) asks for a fit; a size-blind model ignores it and
        says so on stderr (never silently)."""
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
    fit: "FitParams | None" = None  # the fit-label thresholds; recorded so serving turns --fit into the same ratios
    cache_dir: Path | None = None
    log_metrics: Callable[[dict[str, float], int], None] = _ignore  # (metrics, step) -> the MLflow run
    log_image: Callable[[Image.Image, str], None] = _ignore  # (image, artifact path) -> the MLflow run
    log_params: Callable[[dict[str, Any]], None] = _ignore
    set_tags: Callable[[dict[str, str]], None] = _ignore


def is_size_aware(config: dict) -> bool:
    """Whether a model.json describes a size-conditioned model (models from before the switch are size-blind)."""
    section = config.get(SIZE_CONFIG_KEY)
    return bool(section.get("enabled")) if isinstance(section, dict) else bool(section)


def size_map_input(config: dict) -> str:
    """How the model a model.json describes reads the size map (SizeMapInput). Models written before the key:
    the baselines read it as input channels from the start; CatVTON-Flux then read the ratios only."""
    if not is_size_aware(config):
        return SizeMapInput.NONE
    section = config.get(SIZE_CONFIG_KEY)
    recorded = section.get(SIZE_MAP_KEY) if isinstance(section, dict) else None
    if recorded:
        return str(recorded)
    family = str(config.get(FAMILY_KEY) or DEFAULT_FAMILY)
    return SizeMapInput.NONE if family == "catvton_flux" else SizeMapInput.INPUT_CHANNELS


def requested_ratios(config: dict, category: str, fit: str | None = None,
                     ratios: tuple[float | None, float | None, float | None] | None = None
                     ) -> tuple[float, float, float] | None:
    """The (width, length, span) a user asks for: `ratios` as given (None entries: as worn), or the ratios the
    label `fit` stands for under the thresholds the model was trained with (params `fit`'s defaults when the
    model did not record any); None when neither is asked. ValueError on an unknown label or both given."""
    if fit is not None and ratios is not None:
        raise ValueError("ask for a fit label or for ratios, not both")
    if ratios is not None:
        if len(ratios) != 3:
            raise ValueError(f"three ratios are needed (width, length, span), got {len(ratios)}")
        out = tuple(float("nan") if v is None else float(v) for v in ratios)
        if any(v == v and v <= 0 for v in out):
            raise ValueError(f"fit ratios must be positive, got {list(out)}")
        return out  # type: ignore[return-value]
    if fit is None:
        return None
    from components.fit.labels import representative_ratios
    from components.fit.params import FitParams

    section = config.get(SIZE_CONFIG_KEY)
    recorded = section.get("fit") if isinstance(section, dict) else None
    thresholds = FitParams.model_validate(recorded) if recorded else FitParams()
    return representative_ratios(category, fit, thresholds).as_tuple()


def size_config(ctx: FamilyContext) -> dict[str, Any]:
    """model.json's size-conditioning section: whether the model reads the fit ratios, which manifest columns
    they came from, how it reads the size map (SizeMapInput), and the fit thresholds that turn a requested label
    (--fit loose) into ratios."""
    sc = ctx.params.size_conditioning
    section: dict[str, Any] = {"enabled": sc.enabled, "columns": list(sc.columns),
                               SIZE_MAP_KEY: size_map_input_for(ctx.params.model, sc.enabled)}
    if sc.enabled and ctx.fit is not None:
        section["fit"] = ctx.fit.model_dump(mode="json")
    return {SIZE_CONFIG_KEY: section}


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
