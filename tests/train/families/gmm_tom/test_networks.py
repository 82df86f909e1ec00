"""GMM + TOM networks: correlation shape and values, output shapes, and gradients reaching every parameter."""

from __future__ import annotations

import torch

from components.train.families.gmm_tom.networks import GMM, TOM, PatchDiscriminator, correlation, l2_normalise


def test_correlation_has_one_channel_per_garment_position():
    g, p = torch.randn(2, 8, 4, 3), torch.randn(2, 8, 4, 3)
    assert correlation(g, p).shape == (2, 12, 4, 3)


def test_correlation_finds_the_matching_garment_position():
    # One-hot features: garment position (r, c) carries channel r*3+c; the person position (1, 2) carries the
    # feature of garment position (3, 0), so only channel 3*3+0 = 9 lights up there, with value 1.
    g = torch.zeros(1, 12, 4, 3)
    for r in range(4):
        for c in range(3):
            g[0, r * 3 + c, r, c] = 1.0
    p = torch.zeros(1, 12, 4, 3)
    p[0, 9, 1, 2] = 1.0
    out = correlation(g, p)
    assert out[0, 9, 1, 2] == 1.0
    assert out.sum() == 1.0
    # And it is an inner product: scaled features scale the answer.
    assert correlation(2 * g, 3 * p)[0, 9, 1, 2] == 6.0


def test_l2_normalised_features_have_unit_length():
    f = l2_normalise(torch.randn(2, 5, 4, 3))
    assert torch.allclose(f.pow(2).sum(1), torch.ones(2, 4, 3), atol=1e-4)


def test_gradients_reach_every_parameter_of_gmm_tom_and_discriminator():
    torch.manual_seed(0)
    gmm, tom = GMM(42, 4, 64, 48, base_width=4), TOM(42, base_width=4)
    disc = PatchDiscriminator(42 + 3, base_width=4)
    person = torch.randn(2, 42, 64, 48)
    garment, mask = torch.rand(2, 3, 64, 48) * 2 - 1, (torch.rand(2, 1, 64, 48) > 0.5).float()
    target = torch.rand(2, 3, 64, 48) * 2 - 1
    warp = gmm(person, garment, mask)
    assert warp["warped"].shape == (2, 3, 64, 48) and warp["warped_mask"].shape == (2, 1, 64, 48)
    assert warp["offsets"].shape == (2, 25, 2) and warp["grid"].shape == (2, 64, 48, 2)
    out = tom(person, warp["warped"], warp["warped_mask"])
    assert out["result"].shape == (2, 3, 64, 48) and out["composition"].shape == (2, 1, 64, 48)
    loss = ((warp["warped"] - target).abs().mean() + (out["result"] - target).abs().mean()
            + disc(torch.cat([person, out["result"]], 1)).pow(2).mean())
    loss.backward()
    for name, module in (("gmm", gmm), ("tom", tom), ("disc", disc)):
        for pname, p in module.named_parameters():
            assert p.grad is not None and p.grad.abs().sum() > 0, f"{name}.{pname} got no gradient"


def test_gmm_refuses_a_resolution_it_cannot_pool():
    import pytest

    with pytest.raises(ValueError, match="multiple of 16"):
        GMM(22, 4, 60, 48, base_width=4)
