"""GMM and TOM objectives: which terms are on, and VGG19 perceptual/style only from real-format weights."""

from __future__ import annotations

import torch

from components.train.families.gmm_tom.losses import gmm_loss, region_l1, tom_loss, vgg_terms, worn_garment
from components.train.families.gmm_tom.params import GmmTomParams, LossWeights
from components.train.families.perceptual import VGG19_CFG, VGGFeatures


def tiny_vgg19_state(width: int = 4) -> dict[str, torch.Tensor]:
    """Random weights in torchvision's vgg19 `features.<i>` format at a tiny width (the real file is 548 MB)."""
    g = torch.Generator().manual_seed(0)
    state, idx, cin = {}, 0, 3
    for v in VGG19_CFG:
        if v == "M":
            idx += 1
            continue
        cout = width * max(1, v // 64)
        state[f"features.{idx}.weight"] = torch.randn(cout, cin, 3, 3, generator=g) * 0.2
        state[f"features.{idx}.bias"] = torch.zeros(cout)
        idx, cin = idx + 2, cout
    return state


def _batch(n=2, h=32, w=16) -> dict[str, torch.Tensor]:
    g = torch.Generator().manual_seed(1)
    worn = torch.zeros(n, 1, h, w)
    worn[:, :, 8:20, 4:12] = 1
    return {"target": torch.rand(n, 3, h, w, generator=g) * 2 - 1, "worn_mask": worn, "agnostic_mask": worn,
            "agnostic": torch.zeros(n, 3, h, w)}


def test_gmm_loss_is_l1_to_the_worn_garment_plus_weighted_smoothness():
    b = _batch()
    out = {"warped": worn_garment(b), "offsets": torch.zeros(2, 25, 2)}
    loss, terms = gmm_loss(out, b, LossWeights(), 5)
    assert float(loss) == 0.0 and terms["gmm_l1"] == 0.0
    out["offsets"] = torch.randn(2, 25, 2)
    loss, terms = gmm_loss(out, b, LossWeights(smoothness=0.5), 5)
    assert terms["smoothness"] > 0 and abs(float(loss) - 0.5 * terms["smoothness"]) < 1e-6


def test_tom_loss_has_perceptual_and_style_terms_only_when_given_vgg_features():
    b = _batch()
    out = {"result": torch.zeros_like(b["target"]), "composition": torch.zeros(2, 1, 32, 16)}
    warp = {"warped_mask": torch.zeros(2, 1, 32, 16)}
    _, without = tom_loss(out, warp, b, LossWeights())
    assert "vgg" not in without and "style" not in without
    pp = GmmTomParams().perceptual
    assert pp.layers == ["relu1_2", "relu2_2", "relu3_2", "relu4_2"]
    features = VGGFeatures(tiny_vgg19_state(), tuple(pp.layers))
    fn = vgg_terms(features, tuple(pp.layer_weights))
    loss, with_vgg = tom_loss(out, warp, b, LossWeights(), fn, pp.weight, pp.style_weight)
    assert with_vgg["vgg"] > 0 and with_vgg["style"] > 0
    expected = with_vgg["l1"] + with_vgg["mask_l1"] + pp.weight * with_vgg["vgg"] + pp.style_weight * with_vgg["style"]
    assert abs(float(loss) - expected) < 1e-4
    _, same = tom_loss({**out, "result": b["target"]}, warp, b, LossWeights(), fn, pp.weight, pp.style_weight)
    assert same["vgg"] == 0.0 and same["style"] == 0.0


def test_perceptual_terms_come_from_the_model_store_file_and_name_its_hash(tmp_path, monkeypatch):
    from components.train.families.gmm_tom.family import perceptual_terms
    from tests.train.families.test_perceptual import _store_tiny_vgg

    monkeypatch.setenv("VTON_MODEL_CACHE", str(tmp_path / "empty"))
    fn, status = perceptual_terms(GmmTomParams(), "cpu")
    assert fn is None and not status.available and status.detail.startswith("unavailable")
    name = _store_tiny_vgg(tmp_path, monkeypatch)  # real-format weights under a pinned catalog entry
    fn, status = perceptual_terms(GmmTomParams(perceptual={"weights": name}), "cpu")
    assert fn is not None and status.available and status.detail.startswith("vgg19:")
    off, status = perceptual_terms(GmmTomParams(perceptual={"enabled": False}), "cpu")
    assert off is None and "switched off" in status.detail


def test_region_l1_averages_only_inside_the_region_in_unit_range():
    a, b = torch.ones(1, 3, 4, 4), -torch.ones(1, 3, 4, 4)
    region = torch.zeros(1, 1, 4, 4)
    region[..., :2, :] = 1
    b[..., 2:, :] = 1  # outside the region the images agree
    assert torch.allclose(region_l1(a, b, region), torch.tensor([1.0]))
