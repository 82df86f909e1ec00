"""dvc.lock as data: merge the entries other workers recorded into this checkout's lock.

Each containerised stage updates only its own entry in dvc.lock; merging the entries of the stages
that ran elsewhere gives the same lock (and so the same lineage) as one local `dvc repro`.
"""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import yaml

from components.yaml_text import parse_yaml

LOCK_SCHEMA = "2.0"


def read_lock(path: Path) -> dict[str, Any]:
    """The parsed dvc.lock at `path`, or an empty lock when there is none yet."""
    if not path.is_file():
        return {"schema": LOCK_SCHEMA, "stages": {}}
    data = parse_yaml(path.read_text()) or {}
    data.setdefault("schema", LOCK_SCHEMA)
    data["stages"] = data.get("stages") or {}
    return data


def merge_locks(base: dict[str, Any], incoming: dict[str, Any], only: list[str] | None = None) -> dict[str, Any]:
    """`base` with the stage entries of `incoming` (all, or just `only`) replacing its own; inputs untouched."""
    out = copy.deepcopy(base) if base else {"schema": LOCK_SCHEMA, "stages": {}}
    out.setdefault("stages", {})
    for name, entry in (incoming.get("stages") or {}).items():
        if only is None or name in only:
            out["stages"][name] = copy.deepcopy(entry)
    return out


def write_lock(path: Path, lock: dict[str, Any]) -> None:
    """Write `lock` in DVC's own layout (schema first, stages in their order)."""
    ordered = {"schema": lock.get("schema", LOCK_SCHEMA), "stages": lock.get("stages") or {}}
    path.write_text(yaml.safe_dump(ordered, sort_keys=False))
