"""The trainer on the tiny model (CPU): loss falls on an overfit batch, the gate, caching and exact resume."""

from __future__ import annotations

import math

import pytest
import torch

from components.errors import GateFailed
from components.train.data import select_samples
from components.train.gate import run_overfit_gate
from components.train.trainer import Trainer, latest_checkpoint
from tests.train.conftest import tiny_params


def _trainer(tmp_path, dataset, **overrides) -> Trainer:
    params = tiny_params(tmp_path, **overrides)
    return Trainer(params, select_samples(dataset).samples, tmp_path / "ckpt", seed=0)


def test_loss_is_finite_and_falls_on_an_overfit_batch(tmp_path, dataset):
    trainer = _trainer(tmp_path, dataset)
    batch = trainer.first_batch(1)
    spec = trainer.params.gate.model_copy(update={"steps": 40, "learning_rate": 1e-2, "eval_noise_draws": 2})
    result = run_overfit_gate(lambda draw: trainer.loss_on(batch, draw), trainer.trainable, spec)
    assert math.isfinite(result.initial_loss) and math.isfinite(result.final_loss)
    assert result.final_loss < result.initial_loss / 1.25, result.summary()


def test_gate_fails_the_stage_when_the_loss_cannot_fall(tmp_path, dataset):
    trainer = _trainer(tmp_path, dataset, gate={"enabled": True, "steps": 2, "learning_rate": 1e-9,
                                                 "min_loss_drop_factor": 2.0, "samples": 1})
    before = [p.detach().clone() for p in trainer.trainable]
    with pytest.raises(GateFailed, match="overfit gate"):
        trainer.run_gate()
    assert all(torch.equal(a, b) for a, b in zip(before, trainer.trainable))  # gate leaves no trace


def test_fit_trains_checkpoints_resume_skips_an_incomplete_one_and_a_second_run_reuses_the_latent_cache(tmp_path, dataset):
    trainer = _trainer(tmp_path, dataset, max_steps=4, checkpoint_every=2)
    result = trainer.fit()
    assert result.steps == 4 and len(result.losses) == 4 and all(math.isfinite(v) for v in result.losses)
    assert result.cache.encoded == 3
    assert latest_checkpoint(tmp_path / "ckpt").name == "checkpoint-4"
    (tmp_path / "ckpt" / "checkpoint-9").mkdir()  # a folder by that name that no save completed (say, half copied)
    assert latest_checkpoint(tmp_path / "ckpt").name == "checkpoint-4"
    again = _trainer(tmp_path, dataset, max_steps=4)
    assert again.cache_report.encoded == 0 and again.cache_report.cached == 3


def test_resume_from_a_checkpoint_continues_exactly_like_an_uninterrupted_run(tmp_path, dataset):
    straight = _trainer(tmp_path / "a", dataset, max_steps=6, checkpoint_every=3)
    straight.fit()
    resumed = _trainer(tmp_path / "a", dataset, max_steps=6, checkpoint_every=3)
    resumed.checkpoint_dir = tmp_path / "b"
    resumed.load_checkpoint(tmp_path / "a" / "ckpt" / "checkpoint-3")
    assert resumed.position.step == 3 and len(resumed.position.losses) == 3
    result = resumed.fit()
    assert result.start_step == 3 and result.steps == 6
    assert result.losses == pytest.approx(straight.position.losses, rel=1e-5)
    for a, b in zip(straight.trainable, resumed.trainable):
        torch.testing.assert_close(a, b)


def test_attention_mode_trains_only_attention_weights(tmp_path, dataset):
    trainer = _trainer(tmp_path, dataset, mode="attention", max_steps=2)
    names = [n for n, p in trainer.transformer.named_parameters() if p.requires_grad]
    assert names and all("attn." in n for n in names)
    frozen = {n: p.detach().clone() for n, p in trainer.transformer.named_parameters() if not p.requires_grad}
    trainer.fit()
    assert all(torch.equal(frozen[n], p) for n, p in trainer.transformer.named_parameters() if n in frozen)


def test_size_conditioning_adds_a_zero_initialised_trainable_input(tmp_path, real_photos):
    from tests.train.conftest import make_dataset

    ds = make_dataset(tmp_path / "d", real_photos, ratios=True)
    params = tiny_params(tmp_path, size_conditioning={"enabled": True}, max_steps=3)
    cols = params.size_conditioning.columns
    trainer = Trainer(params, select_samples(ds, "train", cols).samples, tmp_path / "ckpt")
    assert trainer.size is not None and torch.count_nonzero(trainer.size.proj.weight) == 0
    trainer.fit()
    assert torch.count_nonzero(trainer.size.proj.weight) > 0


def test_accelerate_lomo_lookup_is_answered_once_per_process():
    """The optimizer step's `is_lomo_available()` is cached, and its answer is accelerate's own."""
    import functools

    import accelerate.optimizer as accelerated
    from accelerate.utils import is_lomo_available

    from components.train.accelerate_speed import cache_lomo_lookup

    cache_lomo_lookup()
    cache_lomo_lookup()  # idempotent: never wraps the cache in a second cache
    assert isinstance(accelerated.is_lomo_available, functools._lru_cache_wrapper)
    assert not isinstance(accelerated.is_lomo_available.__wrapped__, functools._lru_cache_wrapper)
    assert accelerated.is_lomo_available() == is_lomo_available()
