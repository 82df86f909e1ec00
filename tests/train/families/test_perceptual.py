"""VGG19 perceptual and style losses: torchvision's key format loads (at any width), the model store is the
only source of weights, and without them the terms are reported unavailable instead of faked."""

from __future__ import annotations

import textwrap

import pytest
import torch

from components.train.families.perceptual import (
    VGG19_CFG,
    VGGFeatures,
    gram,
    load_perceptual,
    perceptual_loss,
    relu_indices,
    style_loss,
)


def tiny_vgg19_state(divisor: int = 16, classifier: bool = True) -> dict[str, torch.Tensor]:
    """A random VGG19 state dict in torchvision's exact key format, widths divided by `divisor`."""
    g = torch.Generator().manual_seed(0)
    state, idx, in_ch = {}, 0, 3
    for v in VGG19_CFG:
        if v == "M":
            idx += 1
            continue
        out = max(v // divisor, 1)
        state[f"features.{idx}.weight"] = torch.randn(out, in_ch, 3, 3, generator=g) * 0.2
        state[f"features.{idx}.bias"] = torch.zeros(out)
        idx, in_ch = idx + 2, out
    if classifier:  # torchvision's head: ignored by the feature extractor
        state["classifier.0.weight"] = torch.randn(8, in_ch * 49, generator=g)
        state["classifier.0.bias"] = torch.zeros(8)
    return state


def test_feature_keys_and_relu_positions_match_torchvisions_vgg19():
    import torchvision

    with torch.device("meta"):
        reference = torchvision.models.vgg19()
    ours = {k for k in tiny_vgg19_state(classifier=False)}
    assert ours == {k for k in reference.state_dict() if k.startswith("features.")}
    for name, i in relu_indices().items():
        assert isinstance(reference.features[i], torch.nn.ReLU), name


def test_a_tiny_width_state_dict_loads_and_gives_the_five_layers(tmp_path):
    features = VGGFeatures(tiny_vgg19_state())
    x = torch.rand(2, 3, 64, 48) * 2 - 1
    out = features(x)
    assert [f.shape[1] for f in out] == [4, 8, 16, 32, 32]
    assert [f.shape[-1] for f in out] == [48, 24, 12, 6, 3]
    assert not any(p.requires_grad for p in features.parameters())
    features.train()
    assert not features.training  # a measuring device stays in eval mode


def test_losses_are_zero_on_identical_images_and_carry_gradient_to_the_generated_one():
    features = VGGFeatures(tiny_vgg19_state())
    target = torch.rand(1, 3, 32, 32) * 2 - 1
    assert perceptual_loss(features(target), features(target)).item() == 0
    fake = (torch.rand(1, 3, 32, 32) * 2 - 1).requires_grad_()
    loss = perceptual_loss(features(fake), features(target)) + style_loss(features(fake), features(target))
    loss.backward()
    assert loss.item() > 0 and fake.grad.abs().sum() > 0
    f = torch.randn(2, 4, 5, 5)
    assert gram(f).shape == (2, 4, 4) and torch.allclose(gram(f), gram(f).transpose(1, 2))


def test_without_weights_in_the_store_the_terms_are_unavailable_and_say_why(tmp_path, monkeypatch):
    monkeypatch.setenv("VTON_MODEL_CACHE", str(tmp_path / "empty"))
    monkeypatch.delenv("VTON_MODELS_AUTO_PULL", raising=False)
    features, status = load_perceptual()
    assert features is None and not status.available
    assert status.detail.startswith("unavailable:") and "vgg19-dcbb9e9d.pth" in status.detail


def _store_tiny_vgg(tmp_path, monkeypatch) -> str:
    """A tiny VGG19 file placed in a temp model store under its own catalog entry (pinned sha256); its name."""
    from components.hashing import sha256_file
    from components.models.store import Catalog, local_path

    weights = tmp_path / "vgg19-tiny.pth"
    torch.save(tiny_vgg19_state(), weights)
    catalog = tmp_path / "catalog.yaml"
    catalog.write_text(textwrap.dedent(f"""\
        models:
          - name: vgg19-tiny
            version: "1"
            source: s3://bucket/vgg19-tiny.pth
            sha256: {sha256_file(weights)}
            size: null
            licence: test
            used_by: [train_perceptual]
    """))
    monkeypatch.setenv("VTON_MODEL_CACHE", str(tmp_path / "cache"))
    monkeypatch.setenv("VTON_MODEL_CATALOG", str(catalog))
    placed = local_path(Catalog.load().get("vgg19-tiny"))
    placed.parent.mkdir(parents=True, exist_ok=True)
    placed.write_bytes(weights.read_bytes())
    return "vgg19-tiny"


def test_a_file_disagreeing_with_torchvisions_name_prefix_is_refused(tmp_path, monkeypatch):
    from components.models.store import Catalog, local_path

    monkeypatch.setenv("VTON_MODEL_CACHE", str(tmp_path / "cache"))
    real = local_path(Catalog.load().get("vgg19-dcbb9e9d"))
    real.parent.mkdir(parents=True)
    torch.save(tiny_vgg19_state(), real)  # a random file is not torchvision's VGG19: sha256 not dcbb9e9d...
    features, status = load_perceptual()
    assert features is None and "pins no sha256" in status.detail  # unpinned: refused until trusted
    from components.models.store import verify_file

    verify_file(Catalog.load().get("vgg19-dcbb9e9d"), real, trust=True)  # `vton models verify ... --trust`
    features, status = load_perceptual()
    assert features is None and "does not start with dcbb9e9d" in status.detail


def test_weights_load_from_the_model_store(tmp_path, monkeypatch):
    from components.hashing import sha256_file

    name = _store_tiny_vgg(tmp_path, monkeypatch)
    features, status = load_perceptual(weights=name)
    assert features is not None and status.available
    assert status.detail == f"vgg19:{sha256_file(tmp_path / 'vgg19-tiny.pth')[:12]}"


def test_unet_gan_trains_with_the_perceptual_term_when_vgg19_loads(tmp_path, monkeypatch, worn_dataset):
    from components.train.data import select_samples
    from components.train.families.base import FamilyContext
    from components.train.families.unet_gan.trainer import UnetGanTrainer
    from tests.train.families.conftest import family_params
    from tests.train.families.test_unet_gan import TINY

    name = _store_tiny_vgg(tmp_path, monkeypatch)
    perceptual = {"enabled": True, "weights": name, "style_weight": 1.0}
    params = family_params(tmp_path, "unet_gan", unet_gan={**TINY, "perceptual": perceptual})
    ctx = FamilyContext(params=params, samples=select_samples(worn_dataset).samples, val_samples=[],
                        checkpoint_dir=tmp_path / "ckpt", model_dir=tmp_path / "m", reports_dir=tmp_path / "r")
    trainer = UnetGanTrainer(ctx)
    losses = trainer.step([0, 1], 0)
    assert trainer.perceptual.available and losses["perceptual"] > 0 and losses["style"] > 0


def test_unknown_layers_are_refused():
    with pytest.raises(ValueError, match="unknown"):
        VGGFeatures(tiny_vgg19_state(), ("relu9_9",))
