"""Try-on for people and scripts: resolve a model (registry URI or folder), read pairs, write result images.

A person photo needs no annotations: the model's predictor annotates it on the fly, and the agnostic mask
comes from the annotators with the settings the model recorded unless the pair names one.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from PIL import Image

from components.errors import ConfigError, DataContractError
from components.manifest.schema import CATEGORIES


@dataclass(frozen=True)
class Pair:
    """One try-on to run."""

    person: Path
    garment: Path
    category: str
    mask: Path | None = None

    def output_name(self) -> str:
        """<person stem>__<garment stem>[__<category>].png, unique within a pairs file."""
        return f"{self.person.stem}__{self.garment.stem}__{self.category}.png"


def resolve_model(model: str, root: Path, download_dir: Path) -> Path:
    """A local model directory for `model`: a folder with model.json, or a `models:/` / `runs:/` MLflow URI
    downloaded into `download_dir` (the caller's to remove)."""
    from components.train.families import find_model_dir

    local = Path(model)
    if local.is_dir():
        if (local / "model.json").is_file():
            return local
        found = find_model_dir(local)
        if found is not None:
            return found
        raise ConfigError(f"{local}: no model.json in this folder", hint="point --model at models/candidate "
                          "or a registry URI such as models:/vton-tryon@champion")
    if not model.startswith(("models:/", "runs:/", "s3://", "file:")):
        raise ConfigError(f"--model {model!r}: not a folder and not an MLflow model URI",
                          hint="use models:/<name>@champion, models:/<name>/<version> or a model folder")
    import mlflow
    from mlflow.exceptions import MlflowException

    from components.tracking.mlflow_run import tracking_uri

    mlflow.set_tracking_uri(tracking_uri(root))
    try:
        downloaded = Path(mlflow.artifacts.download_artifacts(artifact_uri=model, dst_path=str(download_dir)))
    except MlflowException as exc:
        raise ConfigError(f"{model}: cannot be loaded from the registry at {tracking_uri(root)}: "
                          f"{str(exc).splitlines()[0]}",
                          hint="train and promote a model first (`vton retrain`), or name a version or folder "
                               "with --model") from None
    found = find_model_dir(downloaded)
    if found is None:
        raise ConfigError(f"{model}: its artifacts hold no model.json", hint="register models with `vton train`")
    return found


def check_category(category: str, where: str) -> str:
    """`category` if it is one of the three, else a clear error naming where it came from."""
    if category not in CATEGORIES:
        raise DataContractError(f"{where}: category {category!r} is not one of {list(CATEGORIES)}")
    return category


def read_pairs(path: Path, default_category: str | None) -> list[Pair]:
    """Pairs from a text file: `person garment [category [mask]]` per line (paths relative to the file;
    `#` starts a comment). VITON-HD's two-column pairs.txt works with --category."""
    if not path.is_file():
        raise DataContractError(f"{path}: pairs file not found")
    pairs = []
    for n, raw in enumerate(path.read_text().splitlines(), start=1):
        line = raw.split("#", 1)[0].strip()
        if not line:
            continue
        parts = line.split()
        where = f"{path}:{n}"
        if len(parts) < 2 or len(parts) > 4:
            raise DataContractError(f"{where}: expected `person garment [category [mask]]`, got {raw!r}")
        category = parts[2] if len(parts) > 2 else default_category
        if category is None:
            raise DataContractError(f"{where}: no category", hint="add it as the third column or pass --category")
        base = path.parent
        pairs.append(Pair(base / parts[0], base / parts[1], check_category(category, where),
                          base / parts[3] if len(parts) > 3 else None))
    if not pairs:
        raise DataContractError(f"{path}: no pairs listed")
    return pairs


def _open(path: Path, mode: str, what: str) -> Image.Image:
    try:
        with Image.open(path) as im:
            return im.convert(mode)
    except FileNotFoundError:
        raise DataContractError(f"{path}: {what} image not found") from None
    except OSError as exc:
        raise DataContractError(f"{path}: {what} image cannot be read ({exc})") from None


class TryOn:
    """A loaded predictor plus the annotate settings its masks are made with; `run(pair)` -> the result image.

    Masks are made with the annotate settings the model recorded (those its training data was annotated with,
    as its predictor uses them); a model written before they were recorded gets the project's (`note` says so).
    With `cache_dir` (the annotate cache), a person photo's annotations (for its mask and for the predictor's
    person representation) are computed once per photo content and reused by later pairs and later calls.
    """

    def __init__(self, model_dir: Path, annotate_params, device: str = "cpu", cache_dir: Path | None = None) -> None:
        from components.train.automask import mask_photos, recorded_settings
        from components.train.families import family_of, load_predictor, read_model_config
        from components.train.families.base import is_size_aware

        self.model_dir = model_dir
        self.config = read_model_config(model_dir)
        self.family = family_of(self.config)
        self.size_aware = is_size_aware(self.config)
        self.predictor = load_predictor(model_dir, device)
        recorded = recorded_settings(self.config)
        self.annotate = recorded if recorded is not None else annotate_params
        self.note = None if recorded is not None else (
            f"note: {model_dir / 'model.json'} records no annotate settings (a model written before they were "
            "recorded): masks are made with the project's (params.yaml `annotate`), which may not be the ones "
            "it was trained on")
        self.photos = [mask_photos(self.annotate, self.predictor, cache_dir)]  # for masks
        own = getattr(self.predictor, "photos", None)
        if own is not None and own is not self.photos[0]:  # the predictor annotates with other settings
            self.photos.append(own)

    def annotation_summary(self) -> str:
        """How many photos were annotated and how many found again (masks and the predictor together)."""
        computed = sum(p.computed for p in self.photos)
        reused = sum(p.reused for p in self.photos)
        return f"annotations: {computed} computed, {reused} reused ({self.photos[0].where})"

    def size_request(self, category: str, fit: str | None, ratios: tuple | None) -> tuple[float, float, float] | None:
        """The (width, length, span) `--fit` / `--ratios` ask for under the model's recorded fit thresholds."""
        from components.train.families.base import requested_ratios

        try:
            return requested_ratios(self.config, category, fit, ratios)
        except ValueError as exc:
            raise ConfigError(f"--fit/--ratios: {exc}", hint="--fit tight|fitted|loose, or --ratios W L S "
                              "(worn width, length and span ratios, README \"Size-aware try-on\")") from None

    def run(self, pair: Pair, steps: int | None = None, seed: int = 0,
            size_ratios: tuple[float, float, float] | None = None) -> Image.Image:
        """The try-on of one pair at the person photo's size; ValueError when the photo cannot be annotated.

        `size_ratios` asks a size-aware model for that fit (a size-blind one notes that it ignores it)."""
        from components.train.automask import agnostic_mask_for_image

        person = _open(pair.person, "RGB", "person")
        garment = _open(pair.garment, "RGB", "garment")
        if pair.mask is not None:
            mask = _open(pair.mask, "L", "mask")
        else:
            mask = agnostic_mask_for_image(person, pair.category, self.annotate, self.photos[0])
        extra = {"size_ratios": size_ratios} if size_ratios is not None else {}
        return self.predictor(person, garment, mask, pair.category, num_inference_steps=steps, seed=seed, **extra)
