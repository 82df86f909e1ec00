"""Size conditioning (families/size.py): the size map and encoding, every family starting exactly as its size-blind
twin, the one switch in params, and size-blind models still loading and saying they ignore a size request."""

from __future__ import annotations

import json
import math

import pytest
import torch

from components.train.families.size import (
    SIZE_CHANNELS,
    expected_region,
    log_ratios,
    ratios_tensor,
    scale_masks,
    size_inputs,
    size_planes,
    widen_input,
)
from components.train.params import FIT_COLUMNS, TrainParams


def _box(h=64, w=48, top=10, bottom=40, left=14, right=34) -> torch.Tensor:
    m = torch.zeros(1, 1, h, w)
    m[0, 0, top:bottom, left:right] = 1
    return m


def _extent(mask: torch.Tensor) -> tuple[int, int, int, int]:
    ys, xs = torch.nonzero(mask[0, 0] > 0.5, as_tuple=True)
    return int(ys.min()), int(ys.max()) + 1, int(xs.min()), int(xs.max()) + 1


# -- the pure maps --------------------------------------------------------------------------------------------------
def test_log_ratios_are_symmetric_and_an_unknown_ratio_asks_for_nothing():
    r = log_ratios(torch.tensor([[2.0, 0.5, math.nan], [1.0, -1.0, math.inf]]))
    assert r[0, 0] == pytest.approx(-r[0, 1]) and r[0, 0] == pytest.approx(math.log(2))
    assert r[0, 2] == 0 and r[1].tolist() == [0.0, 0.0, 0.0]
    assert torch.isnan(ratios_tensor([None, (1.0, None, 2.0)])).tolist() == [[True] * 3, [False, True, False]]
    with pytest.raises(ValueError, match="3 fit ratios"):
        ratios_tensor([(1.0, 2.0)])


def test_the_size_map_scales_the_worn_region_about_its_top_centre_by_requested_over_own():
    worn = _box()  # rows 10-40, columns 14-34: 20 wide, 30 tall, centre x = 24
    own = torch.tensor([[1.0, 1.0, 1.0]])
    wider = expected_region(worn, torch.ones_like(worn), own, torch.tensor([[1.5, 1.0, 1.0]]))
    top, bottom, left, right = _extent(wider)
    assert (top, bottom) == (10, 40) and right - left == 30 and (left + right) / 2 == 24
    longer = expected_region(worn, torch.ones_like(worn), own, torch.tensor([[1.0, 1.2, 1.0]]))
    assert _extent(longer)[:2] == (10, 46)  # hangs from the same top edge
    # Unknown ratios (own or requested) leave that axis as worn; a training pair (no request) is the worn region.
    same = expected_region(worn, torch.ones_like(worn), torch.tensor([[math.nan, 1.0, 1.0]]),
                           torch.tensor([[2.0, 1.0, 1.0]]))
    assert torch.equal(same, worn) and torch.equal(expected_region(worn, torch.ones_like(worn), own, None), worn)


def test_an_empty_worn_region_falls_back_to_the_repainted_region():
    agnostic = _box(top=5, bottom=50, left=4, right=44)
    out = expected_region(torch.zeros_like(agnostic), agnostic, torch.ones(1, 3), torch.tensor([[2.0, 2.0, 2.0]]))
    assert torch.equal(out, agnostic)
    assert torch.equal(scale_masks(torch.zeros(1, 1, 8, 8), torch.tensor([[2.0, 2.0]])), torch.zeros(1, 1, 8, 8))


def test_size_planes_paint_the_log_ratios_inside_the_map_only():
    m = _box()
    planes = size_planes(m, torch.tensor([[2.0, math.nan, 0.5]]))
    assert planes.shape == (1, SIZE_CHANNELS, 64, 48)
    assert torch.equal(planes[:, 0:1], m)
    assert planes[0, 1].max() == pytest.approx(math.log(2)) and planes[0, 1][m[0, 0] == 0].abs().max() == 0
    assert planes[0, 2].abs().max() == 0 and planes[0, 3].min() == pytest.approx(math.log(0.5))
    batch = {"worn_mask": m, "agnostic_mask": torch.ones_like(m), "fit_ratios": torch.tensor([[2.0, 1.0, 1.0]])}
    assert torch.equal(size_inputs(batch), size_planes(m, batch["fit_ratios"]))


def test_a_widened_convolution_computes_what_it_did_and_leaves_the_global_rng_alone():
    torch.manual_seed(0)
    conv = torch.nn.Conv2d(5, 7, 3, padding=1)
    state = torch.get_rng_state()
    wide = widen_input(conv, 4)
    assert torch.equal(torch.get_rng_state(), state)
    x = torch.randn(2, 5, 9, 9)
    extra = torch.randn(2, 4, 9, 9)
    assert torch.equal(wide(torch.cat([x, extra], 1)), conv(x))
    assert wide.weight[:, 5:].abs().max() == 0 and wide.weight.requires_grad


def test_the_catvton_flux_size_conditioner_starts_as_a_zero_offset_and_learns():
    from components.train.adapters import SizeConditioner

    enc = SizeConditioner(3, 16)
    pooled = torch.randn(2, 16)
    ratios = torch.tensor([[1.3, 1.0, 1.2], [0.9, math.nan, 1.0]])
    assert torch.equal(enc(pooled, ratios), pooled)
    enc(pooled, ratios).sum().backward()
    assert enc.proj.weight.grad.abs().sum() > 0 and torch.isfinite(enc.proj.weight.grad).all()


# -- params ---------------------------------------------------------------------------------------------------------
def test_one_param_switches_size_conditioning_on_with_the_three_fit_columns():
    from components.fit.columns import FIT_RATIO_COLUMNS

    assert FIT_COLUMNS == FIT_RATIO_COLUMNS  # what annotate writes is what training reads
    on = TrainParams.model_validate({"size_conditioning": True})
    assert on.size_conditioning.enabled and on.size_conditioning.columns == list(FIT_COLUMNS)
    assert not TrainParams().size_conditioning.enabled
    assert TrainParams.model_validate({"size_conditioning": {"enabled": True}}).size_conditioning.enabled
    with pytest.raises(ValueError, match="three fit ratios"):
        TrainParams.model_validate({"size_conditioning": {"enabled": True, "columns": ["fit_width_ratio"]}})
    with pytest.raises(ValueError, match="x_embedder reads the size map"):
        TrainParams.model_validate({"size_conditioning": True, "mode": "lora",
                                    "lora_target_modules": ["to_q", "x_embedder"]})


# -- every family starts as its size-blind twin -----------------------------------------------------------------------
def _batch(b=2, h=64, w=48, seed=1) -> dict:
    from components.train.families.representation import PARSE_CHANNELS, POSE_CHANNELS

    g = torch.Generator().manual_seed(seed)
    rand = lambda *s: torch.rand(*s, generator=g)  # noqa: E731
    worn = _box(h, w).expand(b, 1, h, w).clone()
    batch = {"agnostic": rand(b, 3, h, w) * 2 - 1, "pose": rand(b, POSE_CHANNELS, h, w),
             "parse": rand(b, PARSE_CHANNELS, h, w), "body_mask": (rand(b, 1, h, w) > 0.5).float(),
             "garment": rand(b, 3, h, w) * 2 - 1, "cloth_mask": (rand(b, 1, h, w) > 0.3).float(),
             "target": rand(b, 3, h, w) * 2 - 1, "worn_mask": worn, "agnostic_mask": _box(h, w, 5, 50, 4, 44).expand(
                 b, 1, h, w).clone(), "fit_ratios": torch.tensor([[1.2, 1.1, 1.3]] * b)}
    batch["representation"] = torch.cat([batch["agnostic"], batch["pose"], batch["parse"]], dim=1)
    return batch


def test_a_fresh_size_aware_unet_gan_generates_exactly_what_the_size_blind_one_does():
    from components.train.families.unet_gan.params import UnetGanParams
    from components.train.families.unet_gan.trainer import build_generator, generate

    gp = UnetGanParams(base_channels=8, bottleneck_channels=32, res_blocks=2)
    torch.manual_seed(0)
    blind = build_generator(gp).eval()
    torch.manual_seed(0)
    aware = build_generator(gp, size_conditioning=True).eval()
    assert aware.size_channels == SIZE_CHANNELS and blind.size_channels == 0
    batch = _batch()
    with torch.no_grad():
        same = generate(aware, batch)
        assert torch.equal(same, generate(blind, batch))
        # A different request changes nothing yet either: the new weights are zero until training moves them.
        wide = _box(left=4, right=44).expand(2, 1, 64, 48)
        asked = {**batch, "size_map": wide, "size_ratios": torch.full((2, 3), 2.0)}
        assert torch.equal(generate(aware, asked), same)


def test_a_fresh_size_aware_gmm_tom_warps_and_renders_exactly_what_the_size_blind_one_does():
    from components.train.families.gmm_tom.model import GmmTom
    from components.train.families.gmm_tom.params import GmmTomParams

    params = GmmTomParams(weights={"adversarial": 0.5})
    torch.manual_seed(0)
    blind = GmmTom(params).eval()
    torch.manual_seed(0)
    aware = GmmTom(params, size_conditioning=True).eval()
    batch = _batch()
    a, b = aware.try_on(batch), blind.try_on(batch)
    for key in ("warped", "warped_mask", "rendered", "composition", "result"):
        assert torch.equal(a[key], b[key]), key
    # The critic (built after the widened networks) initialises as in the size-blind run.
    assert all(torch.equal(p, q) for p, q in zip(aware.critic.parameters(), blind.critic.parameters()))
    # And the size planes do get a gradient, so training can start using them.
    out = aware.render(batch, aware.warp(batch))
    out["result"].mean().backward()
    assert aware.tom.unet.stem[0].weight.grad[:, -SIZE_CHANNELS:].abs().sum() > 0


def test_a_fresh_catvton_flux_size_conditioner_leaves_the_flow_matching_loss_unchanged(tmp_path):
    from diffusers import FluxTransformer2DModel

    from components.train.adapters import SizeConditioner
    from components.train.params import TimestepParams
    from components.train.step import StepConfig, flow_matching_loss
    from components.train.tiny import fill_in_channels

    torch.manual_seed(0)
    transformer = FluxTransformer2DModel(patch_size=1, in_channels=fill_in_channels(16, 4), out_channels=64,
                                         num_layers=1, num_single_layers=1, attention_head_dim=16,
                                         num_attention_heads=2, joint_attention_dim=32, pooled_projection_dim=32, axes_dims_rope=(4, 6, 6),
                                         guidance_embeds=True)
    batch = {"latents": torch.randn(1, 16, 8, 8), "masked_latents": torch.randn(1, 16, 8, 8),
             "mask": torch.ones(1, 1, 32, 32), "category": torch.tensor([0]),
             "ratios": torch.tensor([[1.4, 1.1, 0.9]])}
    text = {"prompt_embeds": torch.randn(3, 8, 32), "pooled": torch.randn(3, 32)}
    cfg = StepConfig(TimestepParams(), 1.0, 4)
    noise, sigmas = torch.randn(1, 16, 8, 8), torch.tensor([0.5])
    blind = flow_matching_loss(transformer, batch, text, cfg, noise=noise, sigmas=sigmas)
    aware = flow_matching_loss(transformer, batch, text, cfg, size_conditioner=SizeConditioner(3, 32), noise=noise,
                               sigmas=sigmas)
    assert torch.equal(blind, aware)


def test_a_catvton_flux_training_map_is_the_worn_garment_of_the_samples_parse(worn_dataset):
    import numpy as np
    from PIL import Image

    from components.annotate.agnostic import GARMENT_LABELS, labels_in
    from components.train.data import select_samples
    from components.train.families.representation import resize_labels
    from components.train.size_map import sample_size_map

    sample = select_samples(worn_dataset).samples[0]
    region = sample_size_map(sample, (48, 64))
    with Image.open(sample.parse) as im:
        parse = np.asarray(im)
    worn = labels_in(resize_labels(parse, (48, 64)), GARMENT_LABELS["upper_body"])
    assert region.shape == (64, 48) and region.any() and np.array_equal(region, worn)


# -- loading --------------------------------------------------------------------------------------------------------
def test_model_json_says_how_the_map_is_read_and_models_from_before_the_key_read_as_they_did():
    from components.train.families.base import SizeMapInput, size_map_input, size_map_input_for

    on = {"enabled": True, "columns": list(FIT_COLUMNS)}
    assert size_map_input_for("catvton_flux", True) == SizeMapInput.MASK_PATH
    assert size_map_input_for("unet_gan", True) == SizeMapInput.INPUT_CHANNELS
    assert size_map_input_for("gmm_tom", False) == SizeMapInput.NONE
    assert size_map_input({"family": "catvton_flux", "size_conditioning": {**on, "map": "mask_path"}}) == "mask_path"
    # Before the key: the baselines read the map as input planes from the start, CatVTON-Flux the ratios only.
    assert size_map_input({"family": "gmm_tom", "size_conditioning": on}) == SizeMapInput.INPUT_CHANNELS
    assert size_map_input({"size_conditioning": on}) == SizeMapInput.NONE  # no family: an early CatVTON-Flux
    assert size_map_input({"family": "unet_gan"}) == SizeMapInput.NONE


def test_a_size_blind_model_still_loads_and_says_once_that_it_ignores_a_size_request(tmp_path, capsys):
    from components.train.families import load_predictor
    from components.train.families.base import FAMILY_KEY
    from components.train.families.predictor import write_model_dir
    from components.train.families.representation import PersonInputs
    from components.train.families.unet_gan.networks import UNetGenerator

    torch.manual_seed(0)
    G = UNetGenerator(base=8, bottleneck=32, res_blocks=2)
    config = {FAMILY_KEY: "unet_gan", "format_version": 1, "kind": "unet-gan", "width": 48, "height": 64,
              "network": {"base_channels": 8, "bottleneck_channels": 32, "res_blocks": 2, "attention": True},
              "annotate": None}  # written before size conditioning existed: no size_conditioning section
    write_model_dir(tmp_path / "model", config, G.state_dict())
    assert "size_conditioning" not in json.loads((tmp_path / "model" / "model.json").read_text())
    predictor = load_predictor(tmp_path / "model")
    assert not predictor.size_aware
    b = _batch(1)
    item = PersonInputs(**{k: b[k][0] for k in ("agnostic", "pose", "parse", "body_mask", "garment", "cloth_mask",
                                                  "target", "worn_mask", "agnostic_mask")}, fit_ratios=(1.2, 1.1, 1.3))
    plain = predictor.predict_inputs([item])
    asked = predictor.predict_inputs([item], [(2.0, 1.0, 1.0)])
    predictor.predict_inputs([item], [(0.5, 1.0, 1.0)])
    assert torch.equal(plain, asked)
    err = capsys.readouterr().err
    assert err.count("trained without size conditioning") == 1 and "ignored" in err
