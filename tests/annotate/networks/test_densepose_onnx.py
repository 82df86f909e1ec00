"""DensePose through onnxruntime: the official-format .pkl exported by `vton models export-onnx`, loaded from the
model store, deciding the same boxes and charts as the PyTorch model on a real photograph."""

from __future__ import annotations

import os

import numpy as np
import pytest
import torch

from components.annotate.annotators import annotator_class
from components.annotate.networks.densepose import load_densepose, prepare_batch
from components.annotate.networks.densepose_onnx import PARTS, load_densepose_onnx, onnx_filename
from components.annotate.params import AnnotateParams, DensePoseParams
from components.annotate.preflight import check_weights
from components.errors import MissingWeightsError
from components.models.store import Catalog, ensure_weights, weights_sha256

torch.set_num_threads(1)
SMALL = DensePoseParams(min_score=0.0, min_size=128, max_size=160, device="cpu")


def assert_same_up_to_float_error(got: torch.Tensor, expected: torch.Tensor) -> None:
    """Equal shapes and values within float32 accumulation error relative to the tensor's scale."""
    assert got.shape == expected.shape
    scale = float(expected.abs().max()) or 1.0
    assert float((got - expected).abs().max()) <= 1e-4 * scale, (float((got - expected).abs().max()), scale)


@pytest.fixture(scope="session")
def onnx_store(official_store) -> dict[str, object]:
    """The official-format store with the three ONNX graphs exported into it (once per session: ~30 s)."""
    from components.annotate.networks.densepose_onnx import export_to_store

    root = official_store["densepose_r50_fpn_s1x"].parents[2]
    old = os.environ.get("VTON_MODEL_CACHE")
    os.environ["VTON_MODEL_CACHE"] = str(root)
    try:
        return export_to_store()
    finally:
        if old is None:
            os.environ.pop("VTON_MODEL_CACHE", None)
        else:
            os.environ["VTON_MODEL_CACHE"] = old


def test_export_writes_three_graphs_recorded_in_the_store_with_their_source(onnx_store, model_cache):
    assert sorted(p.name for p in onnx_store.values()) == sorted(onnx_filename(p) for p in PARTS)
    catalog = Catalog.load()
    for name in onnx_store:  # verified against the checksum recorded at export, like a first pull
        assert ensure_weights(name, catalog).is_file()
    model = load_densepose_onnx({p: onnx_store[f"densepose_r50_fpn_s1x_onnx.{p}"] for p in PARTS}, device="cpu")
    assert model.source_sha256 == weights_sha256("densepose_r50_fpn_s1x", catalog)
    assert model.decoder


def test_onnx_graphs_compute_what_the_pytorch_parts_compute(onnx_store, model_cache, photo):
    torch_model = load_densepose(model_cache["densepose_r50_fpn_s1x"])
    onnx_model = load_densepose_onnx({p: onnx_store[f"densepose_r50_fpn_s1x_onnx.{p}"] for p in PARTS}, device="cpu")
    batch, sizes, _ = prepare_batch([photo, photo[:, ::-1].copy()], 128, 160)  # batch of 2, size unlike the export's
    with torch.no_grad():
        trunk_t, trunk_o = torch_model.trunk(batch), onnx_model.trunk(batch)
        for a, b in zip(trunk_o.features + trunk_o.rpn_logits + trunk_o.rpn_deltas,
                        trunk_t.features + trunk_t.rpn_logits + trunk_t.rpn_deltas):
            assert_same_up_to_float_error(a, b)
        assert_same_up_to_float_error(onnx_model.chart_features(trunk_o), torch_model.chart_features(trunk_t))
        rois = torch.randn(5, 256, 7, 7)
        for a, b in zip(onnx_model.box_outputs(rois), torch_model.box_outputs(rois)):
            assert_same_up_to_float_error(a, b)
        rois = torch.randn(3, 256, 28, 28)
        charts_o, charts_t = onnx_model.chart_outputs(rois), torch_model.chart_outputs(rois)
        assert [c.shape[-2:] for c in charts_o] == [(112, 112)] * 4
        for a, b in zip(charts_o, charts_t):
            assert_same_up_to_float_error(a, b)
        # Around the graphs runs the same box logic: the best person's score per image agrees.
        dets_o, _, _ = onnx_model(batch, sizes, 0.0)
        dets_t, _, _ = torch_model(batch, sizes, 0.0)
        for (_, scores_o), (_, scores_t) in zip(dets_o, dets_t):
            assert abs(float(scores_o[0]) - float(scores_t[0])) < 1e-4


def test_onnx_backend_gives_densepose_maps_under_its_own_identity(onnx_store, model_cache, photo):
    pytorch = annotator_class("densepose", "densepose_r50")(AnnotateParams(densepose="densepose_r50", densepose_model=SMALL))
    onnx = annotator_class("densepose", "densepose_r50_onnx")(AnnotateParams(densepose="densepose_r50_onnx",
                                                                              densepose_model=SMALL))
    maps = onnx(photo)
    assert maps.sources["densepose_parts"] == "densepose_r50_fpn_s1x_onnx"
    assert maps.densepose_parts.shape == photo.shape[:2] and maps.densepose_parts.dtype == np.uint8
    assert maps.densepose_parts.max() <= 24
    assert maps.densepose_uv.shape == (2, *photo.shape[:2]) and 0 <= maps.densepose_uv.min() <= maps.densepose_uv.max() <= 1
    assert len(onnx.annotate_batch([photo, photo])) == 2
    assert onnx.key != pytorch.key  # a runtime switch re-annotates rather than mixing the two in one cache


def test_missing_onnx_export_fails_before_work_naming_the_export_command(tmp_path, monkeypatch):
    monkeypatch.setenv("VTON_MODEL_CACHE", str(tmp_path / "empty"))
    with pytest.raises(MissingWeightsError) as err:
        check_weights(AnnotateParams(densepose="densepose_r50_onnx"))
    text = str(err.value)
    assert all(onnx_filename(p) in text for p in PARTS)
    assert "vton models export-onnx densepose_r50_fpn_s1x" in text
    with pytest.raises(MissingWeightsError, match="export-onnx densepose_r50_fpn_s1x"):
        ensure_weights("densepose_r50_fpn_s1x_onnx.trunk")


def test_incomplete_export_is_refused_naming_the_missing_graph(onnx_store, tmp_path):
    paths = {p: onnx_store[f"densepose_r50_fpn_s1x_onnx.{p}"] for p in PARTS}
    paths["chart_head"] = tmp_path / onnx_filename("chart_head")
    with pytest.raises(MissingWeightsError, match="densepose_r50_fpn_s1x_chart_head.onnx"):
        load_densepose_onnx(paths, device="cpu")
