"""A copy of this repo's pipeline files and code, for tests and benchmarks that run the pipeline in a temp project.

Kept out of conftest.py, which sets test-only environment variables when it is imported.
"""

from __future__ import annotations

import shutil
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]

# What a workspace needs to run the pipeline: the code DVC stages depend on and the pipeline files.
WORKSPACE_PATHS = (
    "params.yaml", "dvc.yaml", "dvc.lock", "data.dvc", ".dvc/config", ".dvcignore",
    "components", "flows", "mlflow", "configs",
)


def copy_project(ws: Path, paths: tuple[str, ...] = WORKSPACE_PATHS, source: Path = REPO) -> Path:
    """A new folder `ws` holding the pipeline files and code (`paths`) of `source` (this repo), without bytecode."""
    ws.mkdir()
    for rel in paths:
        src = source / rel
        if src.is_dir():
            shutil.copytree(src, ws / rel, ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
        elif src.is_file():
            (ws / rel).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(src, ws / rel)
    return ws


def imported_sample(root: Path) -> Path:
    """The bundled sample data imported under `root` (pairs with garment photos, one of them not a person)."""
    from components.data.importers.ingest import import_sources
    from components.data.params import ImportParams, ImportSource
    from components.data.sample_data import materialise_sample_data

    folder = materialise_sample_data(root / "raw")
    params = ImportParams(sources=[ImportSource(kind="folder", path=str(folder), name="sample", licence="test")])
    import_sources(params, root / "imported", root)
    return root / "imported"
