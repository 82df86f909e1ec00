"""Training recipes: catvton_flux trains as the public CatVTON-Flux did; vton_lora keeps the LoRA choices."""

from __future__ import annotations

import subprocess
import sys
import typing
from pathlib import Path

import pytest
import torch

from components.params import load_params
from components.train.params import DEFAULT_PROMPTS, TrainParams
from components.train.recipes import DEFAULT_RECIPE, RECIPES, REFERENCE_PROMPT

REPO = Path(__file__).resolve().parents[2]


def test_catvton_flux_is_the_default_and_every_recipe_says_in_one_line_why_it_exists():
    assert TrainParams().recipe == DEFAULT_RECIPE == "catvton_flux"
    assert set(typing.get_args(TrainParams.model_fields["recipe"].annotation)) == set(RECIPES)
    for recipe in RECIPES.values():
        assert recipe.why and "\n" not in recipe.why


def test_every_choice_vton_lora_makes_has_one_line_saying_why():
    recipe = RECIPES["vton_lora"]
    assert set(recipe.reasons) == set(recipe.defaults)
    assert all(why and "\n" not in why for why in recipe.reasons.values())


def test_catvton_flux_takes_the_reference_launch_scripts_optimisation_settings():
    p = TrainParams(recipe="catvton_flux")
    assert p.learning_rate == 2e-5
    assert (p.batch_size, p.gradient_accumulation_steps) == (1, 8)
    assert (p.optimizer.scheduler, p.optimizer.warmup_steps, p.optimizer.eight_bit) == ("constant", 0, True)


def test_catvton_flux_trains_with_guidance_one_and_infers_with_thirty():
    p = TrainParams(recipe="catvton_flux")
    assert p.train_guidance_scale == 1.0
    assert p.guidance_scale == 30.0


def test_catvton_flux_samples_sigmas_uniformly_from_the_base_schedulers_grid():
    t = TrainParams(recipe="catvton_flux").timesteps
    assert (t.sampling, t.weighting_scheme) == ("scheduler", "uniform")


def test_catvton_flux_takes_the_loss_over_the_whole_canvas():
    assert TrainParams(recipe="catvton_flux").loss_region == "canvas"


def test_catvton_flux_uses_one_prompt_for_every_category():
    prompts = TrainParams(recipe="catvton_flux").category_prompts()
    assert set(prompts) == {"upper_body", "lower_body", "dresses"}
    assert set(prompts.values()) == {REFERENCE_PROMPT}


def test_catvton_flux_fine_tunes_attention_on_576x768_panels():
    p = TrainParams(recipe="catvton_flux")
    assert p.mode == "attention" and p.attention_trainable == ["attn."]
    assert p.buckets == [(576, 768)]  # (width, height) of one panel: a 1152x768 canvas


def test_vton_lora_keeps_the_lora_choices_it_was_made_with():
    p = TrainParams(recipe="vton_lora")
    assert (p.mode, p.lora_rank, p.lora_alpha, p.learning_rate) == ("lora", 16, 16.0, 1e-4)
    assert p.train_guidance_scale == p.guidance_scale == 30.0
    assert (p.timesteps.sampling, p.timesteps.weighting_scheme) == ("flux_shift", "logit_normal")
    assert p.loss_region == "person"
    assert p.prompt is None and p.category_prompts() == DEFAULT_PROMPTS
    assert p.buckets == [(768, 1024), (1024, 1024), (1024, 768)]


def test_a_key_set_in_params_wins_over_its_recipe_and_nested_sections_merge_key_by_key():
    p = TrainParams.model_validate({"recipe": "catvton_flux", "learning_rate": 1e-3,
                                    "timesteps": {"logit_std": 2.0}, "optimizer": {"eight_bit": False}})
    assert p.learning_rate == 1e-3
    assert (p.timesteps.sampling, p.timesteps.logit_std) == ("scheduler", 2.0)
    assert (p.optimizer.eight_bit, p.optimizer.scheduler) == (False, "constant")


def test_per_category_prompts_written_in_params_are_used_under_the_one_prompt_recipe():
    mine = {"upper_body": "a top", "lower_body": "trousers", "dresses": "a dress"}
    assert TrainParams.model_validate({"recipe": "catvton_flux", "prompts": mine}).category_prompts() == mine


def test_a_resolved_recipe_validates_to_the_same_params_again():
    for name in RECIPES:
        p = TrainParams(recipe=name)
        assert TrainParams.model_validate(p.model_dump()) == p  # run keys and model.json stay stable


def test_an_unknown_recipe_is_rejected():
    with pytest.raises(ValueError, match="recipe"):
        TrainParams.model_validate({"recipe": "catvton"})


@pytest.mark.parametrize("profile", ["test", "full"])
def test_test_and_full_profiles_train_with_the_reference_recipe_as_it_stands(profile):
    train = load_params(REPO / "params.yaml", profile=profile).train
    reference = TrainParams(recipe="catvton_flux")
    assert train.recipe == "catvton_flux"
    for key in ("mode", "learning_rate", "buckets", "train_guidance_scale", "guidance_scale", "loss_region",
                "timesteps", "batch_size", "gradient_accumulation_steps", "optimizer"):
        assert getattr(train, key) == getattr(reference, key), key
    assert train.category_prompts() == reference.category_prompts()


def _benchmark(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, str(REPO / "benchmarks" / "train_recipes_gpu.py"), *args],
                          capture_output=True, text=True, timeout=300, cwd=REPO)


def test_recipe_benchmark_runs_both_recipes_in_its_tiny_cpu_mode():
    done = _benchmark("--tiny", "--steps", "1", "--warmup", "0")
    assert done.returncode == 0, done.stderr[-2000:]
    rows = [line.split()[0] for line in done.stdout.splitlines() if line.split() and line.split()[0] in RECIPES]
    assert rows == ["catvton_flux", "vton_lora"], done.stdout


@pytest.mark.skipif(torch.cuda.is_available(), reason="the skip line is for machines without CUDA")
def test_recipe_benchmark_says_it_was_skipped_without_cuda():
    done = _benchmark()
    assert done.returncode == 0 and "no CUDA device" in done.stdout and "skipped" in done.stdout
