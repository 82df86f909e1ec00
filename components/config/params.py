"""params.yaml: load, apply the active profile's overlay, validate with pydantic, explain errors plainly.

The file holds a base configuration plus `profiles.<name>` overlays (smoke, test, full); the active
profile is the top-level `profile` key, so DVC sees every value a stage depends on.
"""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import Field, ValidationError

from components.annotate.params import AnnotateParams
from components.config.base import Section
from components.data.params import AugmentParams, ImportParams, ScrapeParams
from components.errors import ConfigError
from components.evaluate.params import EvaluateParams
from components.project import project_root
from components.registry.params import PromoteParams, ScheduleParams
from components.train.params import TrainParams
from components.validate.params import ValidateParams

ProfileName = Literal["smoke", "test", "full"]
PROFILES: tuple[str, ...] = ("smoke", "test", "full")


class ProjectParams(Section):
    """Names shared by every stage."""

    name: str = "vton-pipeline"
    mlflow_experiment: str = "vton-pipeline"
    registered_model: str = "vton-tryon"
    seed: int = 0


class PathsParams(Section):
    """Where each stage reads and writes, relative to the project root (dvc.yaml interpolates these)."""

    raw: str = "data/raw"
    scraped: str = "data/scraped"
    imported: str = "data/imported"
    augmented: str = "data/augmented"
    annotated: str = "data/annotated"
    reports: str = "reports"
    models: str = "models"


class FlowParams(Section):
    """How the retrain flow drives the DVC stages."""

    stages: list[str] = Field(default_factory=lambda: ["import"])
    retries: int = Field(default=1, ge=0)
    retry_delay_seconds: float = Field(default=5.0, ge=0)


class Params(Section):
    """Every knob of the pipeline, resolved for one profile."""

    profile: ProfileName = "smoke"
    project: ProjectParams = ProjectParams()
    paths: PathsParams = PathsParams()
    import_: ImportParams = Field(default_factory=ImportParams, alias="import")
    scrape: ScrapeParams = ScrapeParams()
    augment: AugmentParams = AugmentParams()
    annotate: AnnotateParams = AnnotateParams()
    validate_: ValidateParams = Field(default_factory=ValidateParams, alias="validate")
    train: TrainParams = TrainParams()
    evaluate: EvaluateParams = EvaluateParams()
    promote: PromoteParams = PromoteParams()
    schedule: ScheduleParams = ScheduleParams()
    flow: FlowParams = FlowParams()


def deep_merge(base: dict[str, Any], overlay: dict[str, Any]) -> dict[str, Any]:
    """`overlay` merged into a copy of `base`: nested dicts merge, everything else replaces."""
    out = copy.deepcopy(base)
    for key, value in (overlay or {}).items():
        if isinstance(value, dict) and isinstance(out.get(key), dict):
            out[key] = deep_merge(out[key], value)
        else:
            out[key] = copy.deepcopy(value)
    return out


def _describe(err: dict[str, Any]) -> str:
    loc = ".".join(str(p) for p in err["loc"])
    ctx = err.get("ctx") or {}
    kind = err["type"]
    readable = {
        "greater_than": lambda: f"must be > {ctx.get('gt')}",
        "greater_than_equal": lambda: f"must be >= {ctx.get('ge')}",
        "less_than": lambda: f"must be < {ctx.get('lt')}",
        "less_than_equal": lambda: f"must be <= {ctx.get('le')}",
        "extra_forbidden": lambda: "is not a known setting (check the spelling)",
        "literal_error": lambda: f"must be one of {ctx.get('expected')}",
        "missing": lambda: "is required",
    }.get(kind, lambda: err["msg"][0].lower() + err["msg"][1:])()
    if kind in ("extra_forbidden", "missing"):
        return f"{loc} {readable}"
    return f"{loc} {readable}, got {err.get('input')!r}"


def resolve_params(raw: dict[str, Any], profile: str | None = None, source: str = "params.yaml") -> Params:
    """Validate a raw params mapping with `profile`'s overlay applied (default: its own `profile` key)."""
    raw = dict(raw or {})
    overlays = raw.pop("profiles", {}) or {}
    name = profile or raw.get("profile", "smoke")
    if name not in PROFILES:
        raise ConfigError(f"{source}: profile must be one of {list(PROFILES)}, got {name!r}")
    merged = deep_merge(raw, overlays.get(name) or {})
    merged["profile"] = name
    try:
        return Params.model_validate(merged)
    except ValidationError as exc:
        lines = [f"{source}: {_describe(e)}" for e in exc.errors()]
        raise ConfigError("\n".join(lines), hint=f"edit {source} (profile {name!r})") from None


def read_params_file(path: Path) -> dict[str, Any]:
    """The raw YAML mapping in `path`, with a clear error when it is missing or malformed."""
    if not path.is_file():
        raise ConfigError(f"{path}: params file not found", hint="run from the project root or set VTON_PROJECT_ROOT")
    try:
        data = yaml.safe_load(path.read_text()) or {}
    except yaml.YAMLError as exc:
        raise ConfigError(f"{path}: not valid YAML: {exc}") from None
    if not isinstance(data, dict):
        raise ConfigError(f"{path}: must be a mapping of sections, got {type(data).__name__}")
    return data


def load_params(path: str | Path | None = None, profile: str | None = None) -> Params:
    """Load and validate params.yaml (default: the project root's) for `profile` (default: its `profile` key).

    Every profile's overlay is validated, not only the active one's (a typo in `full` fails on a laptop too),
    and `flow.stages` must name stages of the dvc.yaml beside the file."""
    p = Path(path) if path else project_root() / "params.yaml"
    raw = read_params_file(p)
    params = resolve_params(raw, profile=profile, source=p.name)
    for other in PROFILES:
        if other != params.profile and other in (raw.get("profiles") or {}):
            resolve_params(raw, profile=other, source=p.name)
    check_flow_stages(params, p.parent / "dvc.yaml", p.name)
    return params


def check_flow_stages(params: Params, dvc_yaml: Path, source: str = "params.yaml") -> None:
    """Every `flow.stages` entry must be a stage of `dvc_yaml` (when there is one), else a ConfigError at load."""
    if not dvc_yaml.is_file():
        return
    try:
        known = list((yaml.safe_load(dvc_yaml.read_text()) or {}).get("stages") or {})
    except yaml.YAMLError as exc:
        raise ConfigError(f"{dvc_yaml}: not valid YAML: {exc}") from None
    unknown = [s for s in params.flow.stages if s not in known]
    if unknown:
        raise ConfigError(f"{source}: flow.stages names {unknown}, which dvc.yaml does not define (it has {known})",
                          hint=f"fix flow.stages in {source} (profile {params.profile!r})")


def set_active_profile(path: Path, profile: str) -> bool:
    """Write `profile: <name>` into params.yaml (like `dvc exp run -S`), keeping the rest; True if it changed."""
    if profile not in PROFILES:
        raise ConfigError(f"profile must be one of {list(PROFILES)}, got {profile!r}")
    text = path.read_text()
    current = (yaml.safe_load(text) or {}).get("profile")
    if current == profile:
        return False
    lines = text.splitlines(keepends=True)
    for i, line in enumerate(lines):
        if line.startswith("profile:"):
            lines[i] = f"profile: {profile}\n"
            break
    else:
        lines.insert(0, f"profile: {profile}\n")
    path.write_text("".join(lines))
    return True
