"""A copy of this repo's pipeline files and code, for tests and benchmarks that run the pipeline in a temp project.

Kept out of conftest.py, which sets test-only environment variables when it is imported.
"""

from __future__ import annotations

import atexit
import shutil
import tempfile
from functools import cache
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


@cache
def _sample_once() -> Path:
    """The bundled sample materialised once per process (about 10 s: dress rendering, PNG level 9), removed at exit."""
    from components.data.sample_data import materialise_sample_data

    where = Path(tempfile.mkdtemp(prefix="vton-sample-"))
    atexit.register(shutil.rmtree, where, ignore_errors=True)
    return materialise_sample_data(where)


def sample_data(raw_dir: Path) -> Path:
    """The bundled sample under `raw_dir` as `materialise_sample_data(raw_dir)` writes it (its files are
    byte-identical every time, so a copy of one materialisation per process is the same); return its folder."""
    from components.data.sample_data import SAMPLE_DIR

    made = _sample_once()
    return Path(shutil.copytree(made, Path(raw_dir) / SAMPLE_DIR))


def imported_sample(root: Path) -> Path:
    """The bundled sample data imported under `root` (pairs with garment photos, one of them not a person)."""
    from components.data.importers.ingest import import_sources
    from components.data.params import ImportParams, ImportSource

    folder = sample_data(root / "raw")
    params = ImportParams(sources=[ImportSource(kind="folder", path=str(folder), name="sample", licence="test")])
    import_sources(params, root / "imported", root)
    return root / "imported"
