"""The baselines' checkpoints: complete ones only, the newest kept, RNG streams restored exactly."""

from __future__ import annotations

import random

import numpy as np
import torch

from components.train.families.checkpoint import latest_checkpoint, load_checkpoint, save_checkpoint
from components.train.families.loop import batch_positions, epoch_order


def test_a_half_written_checkpoint_is_never_picked_and_old_ones_are_pruned(tmp_path):
    for step in (1, 2, 3):
        save_checkpoint(tmp_path, step, {"w": torch.tensor([float(step)])}, keep=2)
    (tmp_path / ".tmp-checkpoint-9").mkdir()  # a save killed before its rename
    (tmp_path / "checkpoint-8").mkdir()  # a folder without its state file
    assert latest_checkpoint(tmp_path).name == "checkpoint-3"
    assert sorted(p.name for p in tmp_path.iterdir() if (p / "state.pt").exists()) == ["checkpoint-2", "checkpoint-3"]
    assert load_checkpoint(tmp_path / "checkpoint-3")["w"].item() == 3.0


def test_loading_restores_every_rng_stream_to_where_it_was_saved(tmp_path):
    torch.manual_seed(1), random.seed(1), np.random.seed(1)
    save_checkpoint(tmp_path, 1, {})
    expected = (torch.rand(3), random.random(), np.random.rand())
    torch.manual_seed(99), random.seed(99), np.random.seed(99)
    load_checkpoint(tmp_path / "checkpoint-1")
    got = (torch.rand(3), random.random(), np.random.rand())
    assert torch.equal(expected[0], got[0]) and expected[1:] == got[1:]


def test_the_batch_order_is_a_pure_function_of_seed_and_epoch_and_a_resumed_stream_continues_it():
    assert epoch_order(7, 3, seed=0, epoch=1) == epoch_order(7, 3, seed=0, epoch=1)
    assert epoch_order(7, 3, seed=0, epoch=1) != epoch_order(7, 3, seed=0, epoch=2)
    assert sorted(i for b in epoch_order(7, 3, 0, 0) for i in b) == list(range(7))
    stream = batch_positions(7, 3, 0, 0, 0)
    straight = [next(stream) for _ in range(5)]
    epoch, start = straight[1][0], straight[1][1]
    resumed = batch_positions(7, 3, 0, epoch, start)
    assert [next(resumed) for _ in range(3)] == straight[2:]
