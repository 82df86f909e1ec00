"""Randomly initialised weights written in each project's EXACT official checkpoint format, in a temp model store.

The files are built once per test session (they are hundreds of MB) and placed where the model store looks
for the catalogued names, so both the loaders and the annotator backends read them like the real downloads.
"""

from __future__ import annotations

import os
import pickle
from collections import OrderedDict
from pathlib import Path

import pytest
import torch


def random_state(factory, seed: int = 0) -> OrderedDict:
    """The network's state dict filled with seeded random values (fast: no per-layer init); variances positive."""
    with torch.device("meta"):
        net = factory()
    gen = torch.Generator().manual_seed(seed)
    state = OrderedDict()
    for name, t in net.state_dict().items():
        if name.endswith("num_batches_tracked"):
            state[name] = torch.zeros((), dtype=torch.long)
            continue
        value = torch.randn(t.shape, generator=gen) * 0.05
        state[name] = value.abs() + 0.5 if name.endswith("running_var") else value
    return state


def official_schp_checkpoint(num_classes: int) -> dict:
    """An SCHP training checkpoint: {'epoch', 'state_dict'} with DataParallel `module.` names, no BN step counters."""
    from components.annotate.networks.schp import SCHPNet

    state = OrderedDict(
        (f"module.{k}", v) for k, v in random_state(lambda: SCHPNet(num_classes), num_classes).items()
        if not k.endswith("num_batches_tracked")
    )
    return {"epoch": 149, "state_dict": state}


def official_openpose_state() -> OrderedDict:
    """body_pose_model.pth: a flat OrderedDict of Caffe layer names (`conv1_1.weight`, ...)."""
    from components.annotate.networks.openpose_body import OpenPoseBodyNet

    return OrderedDict((k.split(".", 1)[1], v) for k, v in random_state(OpenPoseBodyNet, 1).items())


def official_densepose_pickle() -> dict:
    """model_final_162be9.pkl: {'model': {detectron2 name: float32 ndarray}, '__author__': ...}."""
    from components.annotate.networks.densepose import DensePoseRCNN, ours_to_detectron2

    weights = {ours_to_detectron2(k): v.numpy() for k, v in random_state(DensePoseRCNN, 2).items()}
    return {"model": weights, "__author__": "Detectron2 Model Zoo"}


@pytest.fixture(scope="session")
def official_store(tmp_path_factory) -> dict[str, Path]:
    """A model store holding random-weight files for schp_lip, schp_atr, densepose and openpose; name -> path."""
    from components.models.store import Catalog, local_path, verify_file

    torch.set_num_threads(1)
    torch.manual_seed(0)
    root = tmp_path_factory.mktemp("model-store")
    # Only while resolving the store paths: a session-wide VTON_MODEL_CACHE would leak into every later test.
    old = os.environ.get("VTON_MODEL_CACHE")
    os.environ["VTON_MODEL_CACHE"] = str(root)
    try:
        catalog = Catalog.load()
        paths = {name: local_path(catalog.get(name)) for name in
                 ("schp_lip", "schp_atr", "densepose_r50_fpn_s1x", "openpose_body_pose_model")}
    finally:
        if old is None:
            os.environ.pop("VTON_MODEL_CACHE", None)
        else:
            os.environ["VTON_MODEL_CACHE"] = old
    for p in paths.values():
        p.parent.mkdir(parents=True, exist_ok=True)
    torch.save(official_schp_checkpoint(20), paths["schp_lip"])
    torch.save(official_schp_checkpoint(18), paths["schp_atr"])
    torch.save(official_openpose_state(), paths["openpose_body_pose_model"])
    with open(paths["densepose_r50_fpn_s1x"], "wb") as fh:
        pickle.dump(official_densepose_pickle(), fh, protocol=2)
    # The catalog pins no sha256 for these entries: vouch for the test's own files, as `vton models verify --trust`.
    for name, path in paths.items():
        verify_file(catalog.get(name), path, trust=True)
    return paths


@pytest.fixture
def model_cache(official_store, monkeypatch) -> dict[str, Path]:
    """The official-format store as this test's model cache (VTON_MODEL_CACHE)."""
    root = next(iter(official_store.values())).parents[2]
    monkeypatch.setenv("VTON_MODEL_CACHE", str(root))
    return official_store


@pytest.fixture
def photo(real_photos):
    """The astronaut photograph, downscaled to keep CPU time low, as RGB uint8."""
    import numpy as np

    return np.asarray(real_photos["astronaut"].resize((128, 128)))
