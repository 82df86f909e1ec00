"""GPU path of the trainer (bf16 autocast, CUDA peak memory); skipped without CUDA."""

from __future__ import annotations

import math

import pytest
import torch

from components.train.data import select_samples
from components.train.trainer import Trainer
from tests.train.conftest import tiny_params

pytestmark = [pytest.mark.gpu, pytest.mark.skipif(not torch.cuda.is_available(), reason="needs CUDA")]


@pytest.mark.parametrize("recipe", ["catvton_flux", "vton_lora"])
def test_tiny_model_trains_in_bf16_on_cuda_and_reports_gpu_memory(tmp_path, dataset, recipe):
    params = tiny_params(tmp_path, recipe=recipe, device="cuda", mixed_precision="bf16", gradient_checkpointing=True,
                         max_steps=3, gradient_accumulation_steps=2)
    trainer = Trainer(params, select_samples(dataset).samples, tmp_path / "ckpt")
    result = trainer.fit()
    assert trainer.accelerator.device.type == "cuda"
    assert all(math.isfinite(v) for v in result.losses)
    assert 0 < result.peak_memory_mb < torch.cuda.get_device_properties(0).total_memory / 2**20
