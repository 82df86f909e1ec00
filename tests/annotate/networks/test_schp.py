"""SCHP: official checkpoint format (state_dict wrapper, `module.` names), strict loading, preprocessing, outputs."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from PIL import Image

from components.annotate.networks.checkpoint import CheckpointMismatch
from components.annotate.networks.schp import (
    ATR,
    LIP,
    PASCAL,
    InPlaceABN,
    SCHPNet,
    load_schp,
    parse_images,
    person_affine,
    save_palette_png,
)

torch.set_num_threads(1)

# Names and shapes as the official AugmentCE2P.py defines them (written out by hand, not derived from our code).
OFFICIAL_LIP_KEYS = {
    "module.conv1.weight": (64, 3, 3, 3),
    "module.bn3.running_var": (128,),
    "module.layer1.0.downsample.0.weight": (256, 128, 1, 1),
    "module.layer3.22.conv3.weight": (1024, 256, 1, 1),
    "module.layer4.2.conv2.weight": (512, 512, 3, 3),
    "module.context_encoding.stages.3.1.weight": (512, 2048, 1, 1),
    "module.context_encoding.stages.0.2.running_mean": (512,),
    "module.context_encoding.bottleneck.0.weight": (512, 4096, 3, 3),
    "module.edge.conv1.1.weight": (256,),
    "module.edge.conv4.weight": (2, 256, 3, 3),
    "module.edge.conv5.weight": (2, 6, 1, 1),
    "module.decoder.conv2.0.weight": (48, 256, 1, 1),
    "module.decoder.conv3.2.weight": (256, 256, 1, 1),
    "module.decoder.conv3.3.running_var": (256,),
    "module.decoder.conv4.weight": (20, 256, 1, 1),
    "module.fushion.0.weight": (256, 1024, 1, 1),
    "module.fushion.1.bias": (256,),
    "module.fushion.3.weight": (20, 256, 1, 1),
}


def test_official_lip_checkpoint_has_the_published_key_names(official_store):
    raw = torch.load(official_store["schp_lip"], weights_only=True)
    state = raw["state_dict"]
    assert len(state) == 603  # parameter + BN-statistics count of the official ResNet-101 CE2P
    for name, shape in OFFICIAL_LIP_KEYS.items():
        assert tuple(state[name].shape) == shape, name
    assert not any(k.endswith("num_batches_tracked") for k in state)


def test_lip_checkpoint_loads_strictly_and_parses_a_real_photo(official_store, photo):
    model = load_schp(official_store["schp_lip"], "lip")
    assert model.num_classes == 20 and not model.training
    (labels,) = parse_images(model, [photo], (64, 64))
    assert labels.shape == photo.shape[:2] and labels.dtype == np.uint8
    assert labels.max() < 20


def test_atr_checkpoint_loads_with_18_classes(official_store, photo):
    model = load_schp(official_store["schp_atr"], "atr")
    (labels,) = parse_images(model, [photo[:96]], (64, 64))
    assert labels.shape == (96, 128) and labels.max() < 18


def test_checkpoint_of_another_dataset_is_refused_naming_the_head(official_store):
    with pytest.raises(CheckpointMismatch, match=r"fushion\.3\.weight"):
        load_schp(official_store["schp_atr"], "lip")


def test_renamed_and_missing_keys_are_refused_by_name(tmp_path):
    net = SCHPNet(PASCAL.num_classes)
    # Zero-stride views keep this file tiny while every name and shape is the real one.
    state = {f"module.{k}": torch.zeros(1).expand(v.shape) for k, v in net.state_dict().items()
             if not k.endswith("num_batches_tracked")}
    state["module.edge.conv5.kernel"] = state.pop("module.edge.conv5.weight")
    del state["module.decoder.conv1.1.running_var"]
    path = tmp_path / "bad.pth"
    torch.save({"state_dict": state}, path)
    with pytest.raises(CheckpointMismatch) as err:
        load_schp(path, "pascal")
    message = str(err.value)
    assert "missing keys: decoder.conv1.1.running_var, edge.conv5.weight" in message
    assert "unexpected keys: edge.conv5.kernel" in message


def test_published_label_lists_and_input_sizes():
    assert (LIP.num_classes, LIP.input_size, LIP.labels[5], LIP.labels[13]) == (20, (473, 473), "Upper-clothes", "Face")
    assert (ATR.num_classes, ATR.input_size, ATR.labels[4], ATR.labels[17]) == (18, (512, 512), "Upper-clothes", "Scarf")
    assert PASCAL.num_classes == 7


def test_affine_centres_the_whole_image_and_keeps_its_aspect():
    m = person_affine(200, 100, (473, 473))  # tall image: height fills the input, width is centred
    corners = np.array([[0, 0, 1], [99, 199, 1]], float) @ m.T
    np.testing.assert_allclose(corners[:, 1], [0, 472], atol=1e-6)
    assert corners[0, 0] == pytest.approx(472 / 2 - 49.5 * 472 / 199)


def test_palette_png_round_trips_labels(tmp_path):
    labels = np.arange(20, dtype=np.uint8).reshape(4, 5)
    path = save_palette_png(labels, 20, tmp_path / "p.png")
    img = Image.open(path)
    assert img.mode == "P"
    np.testing.assert_array_equal(np.asarray(img), labels)
    assert img.getpalette()[3:6] == [128, 0, 0]


def _tiny_schp(seed: int) -> SCHPNet:
    """A one-block-per-stage SCHPNet with seeded random weights (the real layer types, a fraction of the size)."""
    torch.manual_seed(seed)
    net = SCHPNet(LIP.num_classes, layers=(1, 1, 1, 1)).eval()
    gen = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for name, t in net.state_dict().items():
            if name.endswith("running_var"):
                t.copy_(torch.rand(t.shape, generator=gen) + 0.5)
            elif name.endswith(("running_mean", "bias")) or t.dim() == 1:
                t.copy_(torch.randn(t.shape, generator=gen) * 0.1 + (1.0 if name.endswith("weight") else 0.0))
    return net


def test_every_normalisation_layer_is_inplace_abn_as_in_the_official_network():
    net = SCHPNet(LIP.num_classes, layers=(1, 1, 1, 1))
    assert not any(isinstance(m, torch.nn.modules.batchnorm._BatchNorm) for m in net.modules())
    abn = [m for m in net.modules() if isinstance(m, InPlaceABN)]
    # Backbone norms have no activation (official `BatchNorm2d = partial(InPlaceABNSync, activation='none')`).
    assert net.bn1.slope is None and net.layer1[0].bn3.slope is None and net.layer1[0].downsample[1].slope is None
    assert net.fushion[1].slope == 0.01 and net.decoder.conv3[3].slope == 0.01
    assert len(abn) == 3 + 4 * 3 + 4 + 5 + 3 + 4 + 1  # stem, blocks, downsamples, PSP, edge, decoder, fusion


def test_inplace_abn_scales_by_abs_weight_plus_eps_not_by_the_raw_weight():
    layer = InPlaceABN(3, slope=None).eval()
    with torch.no_grad():
        layer.weight.copy_(torch.tensor([2.0, -2.0, -0.5]))
        layer.bias.copy_(torch.tensor([0.1, 0.2, -0.3]))
        layer.running_mean.copy_(torch.tensor([1.0, -1.0, 0.0]))
        layer.running_var.copy_(torch.tensor([4.0, 1.0, 0.25]))
    x = torch.ones(1, 3, 1, 1)
    eps = 1e-5
    # Written out channel by channel: (x - mean) / sqrt(var + eps) * (|w| + eps) + b.
    expected = [(1 - 1) / (4 + eps) ** 0.5 * (2 + eps) + 0.1,
                (1 + 1) / (1 + eps) ** 0.5 * (2 + eps) + 0.2,
                (1 - 0) / (0.25 + eps) ** 0.5 * (0.5 + eps) - 0.3]
    leaky = InPlaceABN(3).eval()
    leaky.load_state_dict(layer.state_dict())
    with torch.no_grad():
        np.testing.assert_allclose(layer(x).reshape(-1).numpy(), expected, rtol=1e-6)
        # LeakyReLU(0.01) after the affine map: channel 3 of -x is (-1 - 0) / 0.5 * 0.5 - 0.3 = -1.3.
        assert leaky(-x).reshape(-1)[2].item() == pytest.approx(0.01 * ((-1) / (0.25 + eps) ** 0.5 * (0.5 + eps) - 0.3))


def test_flipping_the_sign_of_every_abn_weight_leaves_the_labels_unchanged(photo):
    net = _tiny_schp(3)
    flipped = _tiny_schp(3)
    with torch.no_grad():
        for m in flipped.modules():
            if isinstance(m, InPlaceABN):
                m.weight.neg_()
    x = torch.from_numpy(np.stack([np.ascontiguousarray(photo.transpose(2, 0, 1), dtype=np.float32) / 255.0]))
    with torch.no_grad():
        torch.testing.assert_close(flipped(x), net(x), rtol=0, atol=0)
    (a,), (b,) = parse_images(net, [photo], (64, 64)), parse_images(flipped, [photo], (64, 64))
    np.testing.assert_array_equal(a, b)
    # A BatchNorm2d with the same parameters (the old maths) does see the sign: the flip changes its output.
    bn = torch.nn.BatchNorm2d(64).eval()
    bn.load_state_dict({**net.bn1.state_dict(), "num_batches_tracked": torch.tensor(0)})
    bn_flipped = torch.nn.BatchNorm2d(64).eval()
    bn_flipped.load_state_dict({**flipped.bn1.state_dict(), "num_batches_tracked": torch.tensor(0)})
    probe = torch.randn(1, 64, 4, 4)
    assert not torch.allclose(bn(probe), bn_flipped(probe))
