"""params.yaml machinery shared by every section: read the file, merge overlays, explain errors, set the profile.

The file holds a base configuration plus `profiles.<name>` overlays (smoke, test, full); the active
profile is the top-level `profile` key, so DVC sees every value a stage depends on.
"""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any, Literal

import yaml

from components.errors import ConfigError
from components.yaml_text import parse_yaml

ProfileName = Literal["smoke", "test", "full"]
PROFILES: tuple[str, ...] = ("smoke", "test", "full")


def deep_merge(base: dict[str, Any], overlay: dict[str, Any]) -> dict[str, Any]:
    """`overlay` merged into a copy of `base`: nested dicts merge, everything else replaces."""
    out = copy.deepcopy(base)
    for key, value in (overlay or {}).items():
        if isinstance(value, dict) and isinstance(out.get(key), dict):
            out[key] = deep_merge(out[key], value)
        else:
            out[key] = copy.deepcopy(value)
    return out


def with_profile(raw: dict[str, Any], profile: str | None = None) -> tuple[str, dict[str, Any]]:
    """(profile name, `raw` with that profile's overlay merged in and `profiles` dropped), unvalidated; the name is
    `profile`, else the file's own `profile` key, else smoke."""
    rest = dict(raw or {})
    overlays = rest.pop("profiles", {}) or {}
    name = profile or rest.get("profile", "smoke")
    return name, deep_merge(rest, overlays.get(name) or {})


def describe_error(err: dict[str, Any]) -> str:
    """One pydantic error as a params.yaml reader would say it: the dotted key, then what is wrong."""
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


def read_params_file(path: Path) -> dict[str, Any]:
    """The raw YAML mapping in `path`, with a clear error when it is missing or malformed."""
    if not path.is_file():
        raise ConfigError(f"{path}: params file not found", hint="run from the project root or set VTON_PROJECT_ROOT")
    try:
        data = parse_yaml(path.read_text()) or {}
    except yaml.YAMLError as exc:
        raise ConfigError(f"{path}: not valid YAML: {exc}") from None
    if not isinstance(data, dict):
        raise ConfigError(f"{path}: must be a mapping of sections, got {type(data).__name__}")
    return data


def set_active_profile(path: Path, profile: str) -> bool:
    """Write `profile: <name>` into params.yaml (like `dvc exp run -S`), keeping the rest; True if it changed."""
    if profile not in PROFILES:
        raise ConfigError(f"profile must be one of {list(PROFILES)}, got {profile!r}")
    text = path.read_text()
    current = (parse_yaml(text) or {}).get("profile")
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
