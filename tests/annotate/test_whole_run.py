"""The annotate stage's whole-run record (components/annotate/whole_run.py): a cached re-run answers before pandas,
the engine or a model loads, restores the same files, and misses on any change to what the run read."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from tests.conftest import REPO

# What annotating imports and a cached re-run must not: each costs a cached command its start-up.
HEAVY = ("pandas", "pyarrow", "numpy", "PIL", "cv2", "mediapipe", "components.annotate.engine")

STAGE_RUN = """
import json, sys
from pathlib import Path
from components.annotate.stage import run
from components.params import load_params

root, source = Path(sys.argv[1]), sys.argv[2]
result = run(load_params(root / "params.yaml"), root, input=root / source, out=root / "annotated")
report = result.report
print(json.dumps({"new": report.done, "cached": report.cached, "total": report.total, "sheets": len(result.sheets),
                  "heavy": [name for name in sys.argv[3:] if name in sys.modules]}))
"""


def _stage_in_a_fresh_process(root: Path, source: str = "photos") -> dict:
    proc = subprocess.run([sys.executable, "-c", STAGE_RUN, str(root), source, *HEAVY], cwd=root, capture_output=True,
                          text=True, env={"PATH": "", "VTON_QUIET": "1", "PYTHONPATH": str(REPO)})
    assert proc.returncode == 0, proc.stderr[-3000:]
    return json.loads(proc.stdout.strip().splitlines()[-1])


def _tree(folder: Path) -> dict[str, bytes]:
    return {p.relative_to(folder).as_posix(): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


def _photo(real_photos, path: Path, tint: int) -> None:
    """A real person photo, one pixel changed so each `tint` has its own content hash."""
    img = np.asarray(real_photos["grace_hopper"].resize((192, 240))).copy()
    img[0, 0] = (tint, 3, 7)
    Image.fromarray(img).save(path)


@pytest.fixture
def project(tmp_path: Path, real_photos) -> Path:
    """A project (the repo's params.yaml and dvc.yaml) with a plain folder of two person photos."""
    for name in ("params.yaml", "dvc.yaml"):
        shutil.copy2(REPO / name, tmp_path / name)
    (tmp_path / "photos").mkdir()
    for i in range(2):
        _photo(real_photos, tmp_path / "photos" / f"p{i}.png", i)
    return tmp_path


def test_a_cached_rerun_restores_dataset_and_sheets_without_importing_pandas_numpy_pil_or_a_model(project):
    first = _stage_in_a_fresh_process(project)
    made = _tree(project / "annotated")
    shutil.rmtree(project / "annotated")  # what `dvc repro` does before it runs the stage

    again = _stage_in_a_fresh_process(project)

    assert (first["new"], first["cached"]) == (2, 0) and (again["new"], again["cached"]) == (0, 2)
    assert again["sheets"] == first["sheets"] == 1
    assert set(first["heavy"]) >= {"pandas", "numpy", "PIL", "mediapipe"}  # the full run loads them
    assert again["heavy"] == []
    assert _tree(project / "annotated") == made  # manifest, pair lists, layout files and the overlay sheet


def test_a_new_photo_misses_the_whole_run_and_only_that_photo_is_annotated(project, real_photos):
    _stage_in_a_fresh_process(project)
    _photo(real_photos, project / "photos" / "p2.png", 2)

    grown = _stage_in_a_fresh_process(project)

    assert (grown["new"], grown["cached"], grown["total"]) == (1, 2, 3)
    assert "pandas" in grown["heavy"]


def test_a_photo_rewritten_in_place_is_not_restored_from_the_record(project, real_photos):
    _stage_in_a_fresh_process(project)
    _photo(real_photos, project / "photos" / "p0.png", 200)  # same name, new bytes

    changed = _stage_in_a_fresh_process(project)

    assert (changed["new"], changed["cached"]) == (1, 1)


def test_a_restore_prunes_layout_files_no_sample_owns_and_keeps_other_files(project):
    _stage_in_a_fresh_process(project)
    stray, notes = project / "annotated/train/image/gone.jpg", project / "annotated/notes.txt"
    stray.parent.mkdir(parents=True, exist_ok=True)
    stray.write_bytes(b"a sample the run no longer has")
    notes.write_text("the user's own file")

    again = _stage_in_a_fresh_process(project)

    assert again["heavy"] == [] and not stray.exists() and notes.read_text() == "the user's own file"


def test_a_lost_file_store_falls_back_to_the_full_run_and_writes_the_same_files(project):
    _stage_in_a_fresh_process(project)
    made = _tree(project / "annotated")
    shutil.rmtree(project / "annotated")
    shutil.rmtree(project / ".cache/annotate/files")  # the blobs the record points at

    again = _stage_in_a_fresh_process(project)

    assert "pandas" in again["heavy"] and again["total"] == 2
    assert _tree(project / "annotated") == made


def test_a_dataset_rerun_is_restored_and_a_garment_rewritten_misses(tmp_path):
    from tests.project_copy import imported_sample

    for name in ("params.yaml", "dvc.yaml"):
        shutil.copy2(REPO / name, tmp_path / name)
    imported = imported_sample(tmp_path)
    first = _stage_in_a_fresh_process(tmp_path, imported.name)
    made = _tree(tmp_path / "annotated")
    shutil.rmtree(tmp_path / "annotated")

    again = _stage_in_a_fresh_process(tmp_path, imported.name)
    assert again["heavy"] == [] and again["cached"] == again["total"] == first["total"]
    assert _tree(tmp_path / "annotated") == made

    from components.manifest.schema import read_manifest

    rows = read_manifest(imported)
    garment = imported / rows[rows["status"] == "ok"]["garment_path"].iloc[0]
    garment.write_bytes(garment.read_bytes() + b"\0")  # same name and pixels, other bytes: a new input
    changed = _stage_in_a_fresh_process(tmp_path, imported.name)
    assert "pandas" in changed["heavy"] and changed["new"] >= 1
