"""The augment stage (components/data/augment/stage.py): a cached re-run answers before the augmentation code loads."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys

from tests.conftest import REPO
from tests.data.augment.annotated import build_annotated

# What the augmentation code imports and a cached re-run must not: each costs a cached command its start-up.
HEAVY = ("pandas", "pyarrow", "numpy", "PIL", "cv2", "albumentations", "torch")

STAGE_RUN = """
import json, sys
from pathlib import Path
from components.data.augment.stage import run
from components.params import load_params

root = Path(sys.argv[1])
result = run(load_params(root / "params.yaml"), root, src=root / "annotated", out=root / "augmented")
print(json.dumps({"variants": result.report.variants, "cached": result.report.cached,
                  "heavy": [name for name in sys.argv[2:] if name in sys.modules]}))
"""


def _stage_in_a_fresh_process(root) -> dict:
    proc = subprocess.run([sys.executable, "-c", STAGE_RUN, str(root), *HEAVY], cwd=root, capture_output=True,
                          text=True, env={"PATH": "", "VTON_QUIET": "1", "PYTHONPATH": str(REPO)}, check=True)
    return json.loads(proc.stdout.strip().splitlines()[-1])


def _tree(root) -> dict:
    return {p.relative_to(root).as_posix(): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()}


def test_a_cached_rerun_restores_every_output_without_importing_pandas_numpy_pil_or_albumentations(tmp_path):
    for name in ("params.yaml", "dvc.yaml"):
        shutil.copy2(REPO / name, tmp_path / name)
    build_annotated(tmp_path / "annotated")

    first = _stage_in_a_fresh_process(tmp_path)
    made = _tree(tmp_path / "augmented")
    shutil.rmtree(tmp_path / "augmented")  # what `dvc repro` does before it runs the stage
    again = _stage_in_a_fresh_process(tmp_path)

    assert first["variants"] == again["variants"] == again["cached"] == 2 and first["cached"] == 0
    assert set(first["heavy"]) >= {"pandas", "numpy", "PIL", "albumentations"}  # the full run loads them
    assert again["heavy"] == []
    assert _tree(tmp_path / "augmented") == made


def test_a_changed_input_misses_the_whole_run_and_augments_only_the_new_parent(tmp_path):
    for name in ("params.yaml", "dvc.yaml"):
        shutil.copy2(REPO / name, tmp_path / name)
    build_annotated(tmp_path / "annotated")
    _stage_in_a_fresh_process(tmp_path)
    build_annotated(tmp_path / "annotated", n_train=3)  # one more train sample: a new manifest

    grown = _stage_in_a_fresh_process(tmp_path)

    assert (grown["variants"], grown["cached"]) == (3, 2)
    assert "pandas" in grown["heavy"]
