"""Where the project lives on disk: the root (the directory holding params.yaml) and paths under it."""

from __future__ import annotations

import os
from pathlib import Path


def project_root(start: Path | None = None) -> Path:
    """The nearest directory at or above `start` (default: cwd) that holds params.yaml; VTON_PROJECT_ROOT wins."""
    env = os.environ.get("VTON_PROJECT_ROOT")
    if env:
        return Path(env).resolve()
    here = (start or Path.cwd()).resolve()
    for candidate in (here, *here.parents):
        if (candidate / "params.yaml").is_file():
            return candidate
    return here


def raw_data_present(root: Path) -> bool:
    """True when the project's data/raw (the folder data.dvc tracks) exists and holds anything."""
    raw = Path(root) / "data" / "raw"
    return raw.is_dir() and any(raw.iterdir())


def resolve(path: str | Path, root: Path | None = None) -> Path:
    """`path` made absolute against the project root when relative."""
    p = Path(path)
    return p if p.is_absolute() else (root or project_root()) / p
