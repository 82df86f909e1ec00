"""`vton annotate` with the research backends end to end: official-format weights in the store, real photos in,
SCHP parsing, DensePose and AutoMasker agnostic masks out, in the VITON-HD layout and the DressCode export."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from PIL import Image

from components.annotate.export import export_dataset
from components.annotate.params import AnnotateParams, DensePoseParams, SchpParams
from components.annotate.run import annotate_folder

torch.set_num_threads(1)


@pytest.fixture
def photos(real_photos, tmp_path):
    folder = tmp_path / "photos"
    folder.mkdir()
    for name in ("astronaut", "grace_hopper"):
        real_photos[name].resize((192, 256)).save(folder / f"{name}.png")
    return folder


def test_research_backends_write_schp_densepose_and_automasker_outputs(model_cache, photos, tmp_path):
    settings = AnnotateParams(parsing="schp_lip+schp_atr", densepose="densepose_r50", width=96, height=128,
                              schp=SchpParams(input_size=64, device="cpu"),
                              densepose_model=DensePoseParams(min_score=0.0, min_size=128, max_size=160, device="cpu"))
    out = tmp_path / "dataset"
    result = annotate_folder(photos, out, settings, tmp_path / "cache", ["upper_body"])
    df = result.manifest
    ok = df[df["status"] == "ok"]
    # Random weights parse arbitrary labels; a sample may still be refused by the mask gate, never lost.
    assert len(df) == 2 and len(ok) >= 1, df[["status", "quarantine_reason"]]
    for _, row in ok.iterrows():
        assert row["parsing_source"] == "schp_lip+schp_atr"
        assert row["mask_sources"] == ("automasker:parse_lip(schp_lip_atr)+parse_atr(schp_lip_atr)"
                                       "+densepose_parts(densepose_r50_fpn_s1x)")
        with Image.open(out / row["parse_path"]) as lip:
            assert lip.mode == "P" and lip.size == (96, 128) and np.asarray(lip).max() < 20
        with Image.open(out / row["parse_atr_path"]) as atr:
            assert atr.mode == "P" and np.asarray(atr).max() < 18
        with Image.open(out / row["densepose_path"]) as dense:
            assert dense.mode == "RGB" and dense.size == (96, 128)
        with Image.open(out / row["agnostic_mask_path"]) as mask:
            assert set(np.unique(np.asarray(mask))) <= {0, 255}
    assert export_dataset(out, tmp_path / "dresscode", "dresscode").total == len(ok)
    label_maps = sorted((tmp_path / "dresscode").rglob("label_maps/*_4.png"))
    assert len(label_maps) == len(ok) and np.asarray(Image.open(label_maps[0])).max() < 18
    assert sorted((tmp_path / "dresscode").rglob("dense/*_5.png"))


def test_cli_with_the_test_profile_and_no_weights_stops_before_any_work_naming_each_file(photos, tmp_path):
    import shutil
    import subprocess
    import sys
    from pathlib import Path

    repo = Path(__file__).resolve().parents[3]
    shutil.copy(repo / "params.yaml", tmp_path / "params.yaml")
    env = {**__import__("os").environ, "VTON_MODEL_CACHE": str(tmp_path / "empty-store")}
    out = subprocess.run([sys.executable, "-m", "components.cli", "annotate", "--profile", "test", "-i", str(photos),
                          "-o", str(tmp_path / "out")], capture_output=True, text=True, cwd=tmp_path, env=env)
    assert out.returncode == 2, out.stderr
    for filename in ("exp-schp-201908261155-lip.pth", "exp-schp-201908301523-atr.pth", "model_final_162be9.pkl"):
        assert filename in out.stderr
    assert "Traceback" not in out.stderr
    assert not [p for p in (tmp_path / "out").rglob("*") if p.is_file()]  # nothing written
