"""The pipeline's aggregate params: every step's section, resolved for one profile, above the steps.

The file holds a base configuration plus `profiles.<name>` overlays (smoke, test, full); the active
profile is the top-level `profile` key, so DVC sees every value a stage depends on.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml
from pydantic import Field, ValidationError

from components.annotate.params import AnnotateParams
from components.config.base import Section
from components.config.loader import PROFILES, ProfileName, describe_error, read_params_file, with_profile
from components.config.paths import PathsParams
from components.data.params import AugmentParams, ImportParams, ScrapeParams
from components.errors import ConfigError
from components.evaluate.params import EvaluateParams
from components.fit.params import FitParams
from components.project import project_root
from components.registry.params import PromoteParams, ScheduleParams
from components.train.params import TrainParams
from components.validate.params import ValidateParams
from components.yaml_text import parse_yaml


class ProjectParams(Section):
    """Names shared by every stage."""

    name: str = "vton-pipeline"
    mlflow_experiment: str = "vton-pipeline"
    registered_model: str = "vton-tryon"
    seed: int = 0


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
    fit: FitParams = FitParams()
    validate_: ValidateParams = Field(default_factory=ValidateParams, alias="validate")
    train: TrainParams = TrainParams()
    evaluate: EvaluateParams = EvaluateParams()
    promote: PromoteParams = PromoteParams()
    schedule: ScheduleParams = ScheduleParams()
    flow: FlowParams = FlowParams()


def resolve_params(raw: dict[str, Any], profile: str | None = None, source: str = "params.yaml") -> Params:
    """Validate a raw params mapping with `profile`'s overlay applied (default: its own `profile` key)."""
    name, merged = with_profile(raw, profile)
    if name not in PROFILES:
        raise ConfigError(f"{source}: profile must be one of {list(PROFILES)}, got {name!r}")
    merged["profile"] = name
    try:
        return Params.model_validate(merged)
    except ValidationError as exc:
        lines = [f"{source}: {describe_error(e)}" for e in exc.errors()]
        raise ConfigError("\n".join(lines), hint=f"edit {source} (profile {name!r})") from None


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
        known = list((parse_yaml(dvc_yaml.read_text()) or {}).get("stages") or {})
    except yaml.YAMLError as exc:
        raise ConfigError(f"{dvc_yaml}: not valid YAML: {exc}") from None
    unknown = [s for s in params.flow.stages if s not in known]
    if unknown:
        raise ConfigError(f"{source}: flow.stages names {unknown}, which dvc.yaml does not define (it has {known})",
                          hint=f"fix flow.stages in {source} (profile {params.profile!r})")
