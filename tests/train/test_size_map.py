"""CatVTON-Flux reads the size map through FLUX.1 Fill's mask path (components/train/size_map.py): packed like the
mask, zero-initialised x_embedder columns (a fresh size-aware model is exactly the size-blind one), trained and
saved with the adapter in either mode, fed at inference from the requested fit, and old models still load."""

from __future__ import annotations

import copy
import json
import math

import numpy as np
import pytest
import torch
from PIL import Image

from components.train.canvas import make_canvas, size_map_canvas
from components.train.data import select_samples
from components.train.params import TimestepParams, TinyModelParams
from components.train.size_map import (
    SIZE_MAP_PARAMETER,
    SIZE_MAP_WEIGHT_NAME,
    SizeMapEmbedder,
    feeding_size_map,
    read_size_map,
    size_map_channels,
    size_map_tokens,
)
from components.train.step import StepConfig, flow_matching_loss
from components.train.tiny import build_tiny_fill_pipeline, fill_in_channels
from tests.train.conftest import make_dataset, tiny_params


@pytest.fixture(scope="module")
def tiny_pipe():
    pipe = build_tiny_fill_pipeline(TinyModelParams())
    pipe.set_progress_bar_config(disable=True)
    return pipe


def _aware(transformer, scale: int):
    wide = copy.deepcopy(transformer)
    read_size_map(wide, scale)
    return wide


def test_the_map_adds_as_many_features_as_the_mask_packed_as_flux_fill_packs_its_mask(tiny_pipe):
    assert fill_in_channels(16, 8) == 384 and size_map_channels(8) == 256  # FLUX.1 Fill dev: 384 -> 640
    scale = tiny_pipe.vae_scale_factor
    assert size_map_channels(scale) == fill_in_channels(4, scale) - 2 * 16  # the tiny model: 48 -> 64
    region = np.zeros((16, 16), bool)
    region[3:12, 5:11] = True
    canvas_map = torch.from_numpy(np.asarray(size_map_canvas(region, (16, 16))) > 127).float()[None, None]
    assert canvas_map[..., :16].abs().max() == 0 and canvas_map[..., 16:].sum() == region.sum()  # person half
    theirs, _ = tiny_pipe.prepare_mask_latents(canvas_map, torch.randn(1, 4, 8, 16), 1, 4, 1, 16, 32,
                                               torch.float32, "cpu", None)
    assert torch.equal(size_map_tokens(canvas_map, scale), theirs)


def test_a_fresh_size_aware_flux_transformer_is_exactly_the_size_blind_one_and_its_new_columns_learn(tiny_pipe):
    blind = tiny_pipe.transformer
    scale = tiny_pipe.vae_scale_factor
    aware = _aware(blind, scale)
    assert isinstance(aware.x_embedder, SizeMapEmbedder) and aware.x_embedder.size_weight.abs().max() == 0
    assert read_size_map(aware, scale) is aware.x_embedder  # idempotent
    g = torch.Generator().manual_seed(0)
    batch = {"latents": torch.randn(2, 4, 8, 16, generator=g), "masked_latents": torch.randn(2, 4, 8, 16, generator=g),
             "mask": (torch.rand(2, 1, 16, 32, generator=g) > 0.5).float(), "category": torch.tensor([0, 2]),
             "size_map": (torch.rand(2, 1, 16, 32, generator=g) > 0.5).to(torch.uint8)}
    text = {"prompt_embeds": torch.randn(3, 8, 32, generator=g), "pooled": torch.randn(3, 32, generator=g)}
    noise, sigmas = torch.randn(2, 4, 8, 16, generator=g), torch.tensor([0.7, 0.3])
    cfg = StepConfig(TimestepParams(), 30.0, scale)
    without = flow_matching_loss(blind, batch, text, cfg, noise=noise, sigmas=sigmas)
    with_map = flow_matching_loss(aware, batch, text, StepConfig(TimestepParams(), 30.0, scale, size_map=True),
                                  noise=noise, sigmas=sigmas)
    assert torch.equal(without, with_map)  # bit for bit, not approximately
    with_map.backward()
    assert aware.x_embedder.size_weight.grad.abs().sum() > 0
    with pytest.raises(ValueError, match="16 of the size map"):
        flow_matching_loss(aware, batch, text, cfg, noise=noise, sigmas=sigmas)  # the map left out: refused


def _tryon(pipe, transformer, reads_map: bool):
    from components.train.inference import TryOnPipeline

    pipe = copy.copy(pipe)
    pipe.transformer = transformer
    size = {"enabled": reads_map, "columns": ["fit_width_ratio", "fit_length_ratio", "fit_span_ratio"],
            "map": "mask_path" if reads_map else "none"}
    config = {"prompts": {"upper_body": "a top"}, "buckets": [[16, 16]], "guidance_scale": 30.0,
              "base": {"max_sequence_length": 32}, "size_conditioning": size}
    tryon = TryOnPipeline(pipe, config)
    tryon.use_prompt_embeddings("upper_body", torch.randn(1, 8, 32, generator=torch.Generator().manual_seed(1)),
                                torch.randn(1, 32, generator=torch.Generator().manual_seed(2)))
    return tryon


def test_a_fresh_size_aware_pipeline_generates_the_size_blind_image_and_a_trained_one_follows_the_map(tiny_pipe):
    person = Image.fromarray(np.random.default_rng(0).integers(0, 255, (16, 16, 3), np.uint8))
    garment = Image.new("RGB", (16, 16), (200, 40, 40))
    mask = Image.new("L", (16, 16), 0)
    mask.paste(255, (2, 2, 14, 14))
    canvas = make_canvas(garment, person, mask, (16, 16))
    narrow, wide = np.zeros((16, 16), bool), np.zeros((16, 16), bool)
    narrow[4:12, 6:10], wide[4:12, 2:14] = True, True
    blind = _tryon(tiny_pipe, tiny_pipe.transformer, reads_map=False)
    aware_model = _aware(tiny_pipe.transformer, tiny_pipe.vae_scale_factor)
    aware = _tryon(tiny_pipe, aware_model, reads_map=True)
    assert aware.reads_size_map and not blind.reads_size_map
    plain = np.asarray(blind.generate_canvas(canvas, "upper_body", 2))
    assert np.array_equal(np.asarray(aware.generate_canvas(canvas, "upper_body", 2, size_map=narrow)), plain)
    assert np.array_equal(np.asarray(aware.generate_canvas(canvas, "upper_body", 2, size_map=wide)), plain)
    assert not aware_model._forward_pre_hooks  # the map is fed for one call only
    with torch.no_grad():
        aware_model.x_embedder.size_weight.normal_(0, 0.5, generator=torch.Generator().manual_seed(3))
    a = np.asarray(aware.generate_canvas(canvas, "upper_body", 2, size_map=narrow), np.int16)
    b = np.asarray(aware.generate_canvas(canvas, "upper_body", 2, size_map=wide), np.int16)
    assert np.abs(a - b).max() > 0 and np.abs(a - plain).max() > 0


def test_feeding_appends_the_tokens_to_every_batch_row_of_the_hidden_states():
    seen = []
    module = torch.nn.Module()
    module.forward = lambda hidden_states: seen.append(hidden_states)  # type: ignore[method-assign]
    tokens = torch.ones(1, 3, 2)
    with feeding_size_map(module, tokens):
        module(hidden_states=torch.zeros(2, 3, 4))
    module(hidden_states=torch.zeros(2, 3, 4))
    assert seen[0].shape == (2, 3, 6) and torch.equal(seen[0][..., 4:], torch.ones(2, 3, 2))
    assert seen[1].shape == (2, 3, 4)


@pytest.mark.parametrize("mode", ["lora", "attention"])
def test_the_trainer_trains_the_map_columns_and_the_candidate_saves_and_reloads_them(tmp_path, real_photos, mode):
    from components.train.inference import TryOnPipeline
    from components.train.package import model_config, save_base_snapshot, write_candidate
    from components.train.trainer import Trainer

    ds = make_dataset(tmp_path / "d", real_photos, ratios=True)
    params = tiny_params(tmp_path, size_conditioning=True, mode=mode, max_steps=2, learning_rate=1e-2)
    trainer = Trainer(params, select_samples(ds, "train", params.size_conditioning.columns).samples,
                      tmp_path / "ckpt")
    transformer = trainer.unwrapped_transformer()
    weight = transformer.x_embedder.size_weight
    assert weight.requires_grad and any(p is weight for p in trainer.trainable) and weight.abs().max() == 0
    assert trainer.step_cfg.size_map and trainer.first_batch(1)["size_map"].shape == (1, 1, 32, 64)
    trainer.fit()
    assert weight.abs().max() > 0
    base_dir = save_base_snapshot(build_tiny_fill_pipeline(params.tiny), tmp_path / "cache", trainer.base.fingerprint)
    config = model_config(params, trainer.base.spec, "smoke", steps=2)
    assert config["size_conditioning"]["map"] == "mask_path"
    model_dir = write_candidate(tmp_path / "candidate", transformer, params, config, trainer.size, base_dir)
    assert SIZE_MAP_WEIGHT_NAME in json.loads((model_dir / "model.json").read_text())["adapter_files"]
    if mode == "attention":  # the map's columns live in their own file, not among the attention weights
        from safetensors.torch import load_file

        assert SIZE_MAP_PARAMETER not in load_file(str(model_dir / "adapter" / "transformer_attention.safetensors"))
    loaded = TryOnPipeline.from_pretrained(model_dir)
    assert loaded.reads_size_map
    torch.testing.assert_close(loaded.pipe.transformer.x_embedder.size_weight, weight.detach().float())
    # Resuming from this run's checkpoint restores the map's columns with everything else.
    resumed = Trainer(params, select_samples(ds, "train", params.size_conditioning.columns).samples,
                      tmp_path / "ckpt")
    from components.train.trainer import latest_checkpoint

    resumed.load_checkpoint(latest_checkpoint(tmp_path / "ckpt"))
    assert torch.equal(resumed.unwrapped_transformer().x_embedder.size_weight, weight)


def test_a_size_aware_model_from_before_the_map_still_loads_and_reads_the_ratios_only(tmp_path, real_photos):
    from components.train.families.base import SizeMapInput, size_map_input
    from components.train.inference import TryOnPipeline
    from components.train.package import model_config, save_base_snapshot, write_candidate
    from components.train.adapters import SizeConditioner

    params = tiny_params(tmp_path, size_conditioning=True)
    pipe = build_tiny_fill_pipeline(params.tiny)
    base_dir = save_base_snapshot(pipe, tmp_path / "cache", "old")
    config = model_config(params, {"kind": "tiny", **params.tiny.model_dump(), "max_sequence_length": 32}, "smoke")
    del config["size_conditioning"]["map"]  # what model.json held before the map was read
    from components.train.adapters import apply_adapters

    apply_adapters(pipe.transformer, params)
    model_dir = write_candidate(tmp_path / "old", pipe.transformer, params, config, SizeConditioner(3, 32), base_dir)
    assert not (model_dir / "adapter" / SIZE_MAP_WEIGHT_NAME).exists()
    assert size_map_input(json.loads((model_dir / "model.json").read_text())) == SizeMapInput.NONE
    loaded = TryOnPipeline.from_pretrained(model_dir)
    assert not loaded.reads_size_map and not isinstance(loaded.pipe.transformer.x_embedder, SizeMapEmbedder)
    person = real_photos["astronaut"].resize((32, 32))
    mask = Image.new("L", (32, 32), 0)
    mask.paste(255, (8, 8, 24, 28))
    out = loaded(person, Image.new("RGB", (32, 32), "white"), mask, "upper_body", num_inference_steps=1,
                 size_ratios=(1.4, 1.0, 1.0))
    assert out.size == (32, 32)


def test_the_photo_map_is_the_worn_region_rescaled_by_the_requested_fit(real_photos):
    from components.annotate.params import AnnotateParams
    from components.annotate.photo_cache import PhotoAnnotator
    from components.train.size_map import photo_size_map

    person = real_photos["camera"].resize((192, 192))  # hips in view: the worn width ratio is measurable
    mask = None  # the annotators' own agnostic mask
    settings = AnnotateParams(width=96, height=128)
    photos = PhotoAnnotator(settings)
    garment = Image.new("RGB", (96, 128), "white")

    def extent(region):
        ys, xs = np.nonzero(region)
        return ys.min(), xs.max() - xs.min() + 1

    as_worn = photo_size_map(person, garment, mask, "upper_body", (48, 48), settings, photos)
    assert as_worn.shape == (48, 48) and as_worn.any()
    own = photo_size_map(person, garment, mask, "upper_body", (48, 48), settings, photos, (math.nan,) * 3)
    assert np.array_equal(own, as_worn)  # unknown ratios ask for nothing
    from components.train.families.representation import inputs_from_photo

    ratios = inputs_from_photo(person, garment, mask, "upper_body", (96, 128), settings, photos=photos).fit_ratios
    assert ratios is not None and math.isfinite(ratios[0])
    wider = photo_size_map(person, garment, mask, "upper_body", (48, 48), settings, photos,
                           (1.6 * ratios[0], ratios[1], ratios[2]))
    (top, width), (wtop, wwidth) = extent(as_worn), extent(wider)
    assert wtop == top and wwidth > width  # wider, hanging from the same top edge
    assert photos.computed == 1  # one photo, annotated once


def test_a_checkpoint_without_the_map_columns_is_refused_rather_than_resumed_untrained(tmp_path, real_photos):
    from safetensors.torch import load_file, save_file

    from components.train.trainer import TRAINABLE_FILE, Trainer

    ds = make_dataset(tmp_path / "d", real_photos, ratios=True)
    params = tiny_params(tmp_path, size_conditioning=True, max_steps=1)
    samples = select_samples(ds, "train", params.size_conditioning.columns).samples
    trainer = Trainer(params, samples, tmp_path / "ckpt")
    ckpt = trainer.save_checkpoint()
    state = load_file(str(ckpt / TRAINABLE_FILE))
    del state[f"transformer.{SIZE_MAP_PARAMETER}"]  # as a run from before the map wrote it
    save_file(state, str(ckpt / TRAINABLE_FILE))
    with pytest.raises(ValueError, match="lacks the trainable weights"):
        Trainer(params, samples, tmp_path / "ckpt").load_checkpoint(ckpt)
