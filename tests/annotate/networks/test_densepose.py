"""DensePose R50-FPN s1x: detectron2 .pkl names through the explicit map, strict loading, outputs on a real photo."""

from __future__ import annotations

import pickle

import numpy as np
import pytest
import torch

from components.annotate.layout import render_densepose
from components.annotate.networks.checkpoint import CheckpointMismatch
from components.annotate.networks.densepose import detectron2_to_ours, load_densepose, read_detectron2_pkl, run_densepose

torch.set_num_threads(1)

# detectron2 names and shapes of the R50-FPN s1x DensePose model (written out from the detectron2 sources).
DETECTRON2_KEYS = {
    "backbone.bottom_up.stem.conv1.weight": (64, 3, 7, 7),
    "backbone.bottom_up.stem.conv1.norm.running_var": (64,),
    "backbone.bottom_up.res2.0.shortcut.weight": (256, 64, 1, 1),
    "backbone.bottom_up.res3.0.conv1.weight": (128, 256, 1, 1),
    "backbone.bottom_up.res4.5.conv2.norm.bias": (256,),
    "backbone.bottom_up.res5.2.conv3.weight": (2048, 512, 1, 1),
    "backbone.fpn_lateral5.weight": (256, 2048, 1, 1),
    "backbone.fpn_output2.bias": (256,),
    "proposal_generator.rpn_head.objectness_logits.weight": (3, 256, 1, 1),
    "proposal_generator.rpn_head.anchor_deltas.weight": (12, 256, 1, 1),
    "roi_heads.box_head.fc1.weight": (1024, 12544),
    "roi_heads.box_predictor.cls_score.weight": (2, 1024),
    "roi_heads.box_predictor.bbox_pred.weight": (4, 1024),
    "roi_heads.decoder.p2.0.weight": (256, 256, 3, 3),
    "roi_heads.decoder.p5.4.bias": (256,),
    "roi_heads.decoder.predictor.weight": (256, 256, 1, 1),
    "roi_heads.densepose_head.body_conv_fcn1.weight": (512, 256, 3, 3),
    "roi_heads.densepose_head.body_conv_fcn8.weight": (512, 512, 3, 3),
    "roi_heads.densepose_predictor.ann_index_lowres.weight": (512, 2, 4, 4),
    "roi_heads.densepose_predictor.index_uv_lowres.bias": (25,),
    "roi_heads.densepose_predictor.u_lowres.weight": (512, 25, 4, 4),
    "roi_heads.densepose_predictor.v_lowres.weight": (512, 25, 4, 4),
}


def test_official_pickle_uses_detectron2_names_and_numpy_arrays(official_store):
    weights = read_detectron2_pkl(official_store["densepose_r50_fpn_s1x"])
    for name, shape in DETECTRON2_KEYS.items():
        assert isinstance(weights[name], np.ndarray) and weights[name].shape == shape, name
    assert all(k.split(".")[0] in {"backbone", "proposal_generator", "roi_heads"} for k in weights)


def test_name_map_is_explicit_and_reversible():
    assert detectron2_to_ours("backbone.bottom_up.res2.0.conv1.norm.weight") == "resnet.res2.0.conv1.norm.weight"
    assert detectron2_to_ours("roi_heads.densepose_predictor.u_lowres.bias") == "dp_predictor.u_lowres.bias"
    assert detectron2_to_ours("backbone.fpn_lateral3.weight") == "fpn.lateral3.weight"


def test_pkl_loads_strictly_and_gives_part_and_uv_maps_on_a_real_photo(official_store, photo):
    model = load_densepose(official_store["densepose_r50_fpn_s1x"])
    assert model.dp_decoder is not None and not model.training
    (result,) = run_densepose(model, [photo], min_score=0.0, min_size=160, max_size=256)
    assert result.parts.shape == photo.shape[:2] and result.parts.dtype == np.uint8
    assert result.parts.max() <= 24
    assert result.uv.shape == (2, *photo.shape[:2]) and result.uv.dtype == np.float32
    assert 0.0 <= result.uv.min() and result.uv.max() <= 1.0
    assert (result.uv[:, result.parts == 0] == 0).all()
    x0, y0, x1, y1 = result.box
    assert 0 <= x0 < x1 <= photo.shape[1] and 0 <= y0 < y1 <= photo.shape[0]
    # Nobody scores above 1: no box, empty maps (the annotator quarantines such images).
    (nobody,) = run_densepose(model, [photo], min_score=1.01, min_size=128, max_size=160)
    assert nobody.box is None and not nobody.parts.any()


def test_checkpoint_with_a_renamed_key_is_refused_by_name(official_store, tmp_path):
    data = pickle.loads(official_store["densepose_r50_fpn_s1x"].read_bytes())
    model = data["model"]
    model["roi_heads.densepose_predictor.u_lowres.weights"] = model.pop("roi_heads.densepose_predictor.u_lowres.weight")
    path = tmp_path / "renamed.pkl"
    path.write_bytes(pickle.dumps(data))
    with pytest.raises(CheckpointMismatch) as err:
        load_densepose(path)
    assert "missing keys: dp_predictor.u_lowres.weight" in str(err.value)
    assert "unexpected keys: dp_predictor.u_lowres.weights" in str(err.value)


def test_non_detectron2_pickle_is_refused(tmp_path):
    path = tmp_path / "x.pkl"
    path.write_bytes(pickle.dumps({"blobs": {}}))
    with pytest.raises(CheckpointMismatch, match="detectron2"):
        load_densepose(path)


def test_rendered_densepose_is_parula_at_alpha_07_on_black():
    parts = np.array([[0, 1], [24, 12]], np.uint8)
    img = render_densepose(parts)
    assert img.shape == (2, 2, 3) and img.dtype == np.uint8
    assert (img[0, 0] == 0).all()
    import cv2

    expected = (cv2.applyColorMap(np.array([[255]], np.uint8), cv2.COLORMAP_PARULA)[0, 0, ::-1] * 0.7).astype(np.uint8)
    np.testing.assert_array_equal(img[1, 0], expected)
    assert len({tuple(img[0, 1]), tuple(img[1, 0]), tuple(img[1, 1])}) == 3
