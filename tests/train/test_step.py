"""The training step as each recipe wires it: the guidance and timesteps the transformer sees, the loss region."""

from __future__ import annotations

import torch

from components.train.data import select_samples
from components.train.flow_matching import scheduler_training_sigmas
from components.train.step import flow_matching_loss
from components.train.trainer import Trainer
from tests.train.conftest import tiny_params


class Recorder(torch.nn.Module):
    """The transformer, recording the keyword arguments of every call (and optionally editing its prediction)."""

    def __init__(self, inner: torch.nn.Module, edit=None) -> None:
        super().__init__()
        self.inner, self.edit, self.calls = inner, edit, []

    def forward(self, **kwargs):
        self.calls.append(kwargs)
        out = self.inner(**kwargs)
        return (self.edit(out[0]),) if self.edit else out


def _trainer(tmp_path, dataset, recipe: str) -> Trainer:
    params = tiny_params(tmp_path, recipe=recipe, gradient_accumulation_steps=1)
    return Trainer(params, select_samples(dataset).samples, tmp_path / "ckpt", seed=0)


def _one_step(trainer: Trainer, edit=None) -> tuple[Recorder, torch.Tensor]:
    rec = Recorder(trainer.unwrapped_transformer(), edit)
    batch = trainer.first_batch(1)
    loss = flow_matching_loss(rec, batch, trainer.text, trainer.step_cfg, torch.Generator().manual_seed(0))
    return rec, loss


def test_catvton_flux_feeds_guidance_one_and_a_timestep_from_the_schedulers_grid(tmp_path, dataset):
    trainer = _trainer(tmp_path, dataset, "catvton_flux")
    rec, loss = _one_step(trainer)
    call = rec.calls[0]
    assert call["guidance"].tolist() == [1.0]
    grid = scheduler_training_sigmas(trainer.base.pipe.scheduler.config)
    assert torch.isin(call["timestep"].float(), grid).all()
    assert torch.isfinite(loss)


def test_vton_lora_feeds_guidance_thirty(tmp_path, dataset):
    rec, _ = _one_step(_trainer(tmp_path, dataset, "vton_lora"))
    assert rec.calls[0]["guidance"].tolist() == [30.0]


def _garment_half_error(trainer: Trainer) -> float:
    """How much the loss rises when the prediction changes on the garment half only."""
    _, base = _one_step(trainer)
    half = trainer.first_batch(1)["latents"].shape[-1] // 4  # packed columns of one panel

    def wrong_on_garment(pred: torch.Tensor) -> torch.Tensor:
        h = trainer.first_batch(1)["latents"].shape[-2] // 2
        grid = pred.view(pred.shape[0], h, 2 * half, -1).clone()
        grid[:, :, :half] += 1.0
        return grid.view_as(pred)

    _, edited = _one_step(trainer, wrong_on_garment)
    return float((edited - base).detach())


def test_catvton_flux_loss_counts_the_garment_half_and_vton_lora_loss_does_not(tmp_path, dataset):
    assert _garment_half_error(_trainer(tmp_path / "a", dataset, "catvton_flux")) > 0.1
    assert abs(_garment_half_error(_trainer(tmp_path / "b", dataset, "vton_lora"))) < 1e-6
