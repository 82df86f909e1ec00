"""The training loop the baseline families share: deterministic batch order, progress, logging, checkpoints.

A family supplies one optimisation step (batch -> named losses) and its state; the loop walks the data,
shows a progress bar, logs `train/<loss>` every `tracking.log_every` steps, calls the validation hook
every `tracking.validate_every`, and checkpoints every `checkpoint_every` steps and at the end. The batch
order is a pure function of (seed, epoch), so a resumed run sees exactly the batches it had not yet seen.
"""

from __future__ import annotations

import math
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import torch

from components.progress import progress_bar, quiet
from components.train.families.checkpoint import save_checkpoint
from components.tracking.contract import Metric, metric_key


@dataclass
class LoopPosition:
    """Optimizer steps done, epoch, batches used in the epoch, and each step's named losses."""

    step: int = 0
    epoch: int = 0
    batch_in_epoch: int = 0
    history: list[dict[str, float]] = field(default_factory=list)

    def state_dict(self) -> dict:
        """For the checkpoint."""
        return asdict(self)

    @classmethod
    def from_state(cls, state: dict) -> "LoopPosition":
        """Rebuild from `state_dict()`."""
        return cls(**state)


def epoch_order(n: int, batch_size: int, seed: int, epoch: int) -> list[list[int]]:
    """The batches of one epoch: indices 0..n-1 shuffled by (seed, epoch), the last batch possibly short."""
    g = torch.Generator().manual_seed(seed * 1_000_003 + epoch)
    order = torch.randperm(n, generator=g).tolist()
    return [order[k:k + batch_size] for k in range(0, n, batch_size)]


def batch_positions(n: int, batch_size: int, seed: int, epoch: int, start: int) -> Iterator[tuple[int, int, list[int]]]:
    """Endless (epoch, index after this batch, batch indices) from a data position onwards."""
    while True:
        batches = epoch_order(n, batch_size, seed, epoch)
        for k in range(start, len(batches)):
            yield epoch, k + 1, batches[k]
        epoch, start = epoch + 1, 0


@dataclass
class LoopSpec:
    """How long and how often: the shared keys of `train` (max_steps, checkpoint_every, tracking...)."""

    max_steps: int
    batch_size: int
    checkpoint_every: int
    checkpoints_to_keep: int
    log_every: int
    validate_every: int
    seed: int
    headline: str  # the loss named in the progress bar and loss.csv (e.g. "g_total")
    desc: str = "train"

    @classmethod
    def from_params(cls, tp, seed: int, headline: str, desc: str = "train") -> "LoopSpec":
        """The spec of a TrainParams."""
        return cls(tp.max_steps, tp.batch_size, tp.checkpoint_every, tp.checkpoints_to_keep, tp.tracking.log_every,
                   tp.tracking.validate_every, seed, headline, desc)


@dataclass
class LoopResult:
    """What the loop did."""

    start_step: int
    steps: int
    history: list[dict[str, float]]
    step_time_s: float
    samples_per_s: float
    wall_s: float

    def headline(self, name: str) -> list[tuple[int, float]]:
        """(step, value) of one loss over the whole history (resumed runs included)."""
        return [(i + 1, h[name]) for i, h in enumerate(self.history) if name in h]


def run_loop(
    spec: LoopSpec,
    n_samples: int,
    position: LoopPosition,
    step_fn: Callable[[list[int], int], dict[str, float]],
    state_fn: Callable[[], dict[str, Any]],
    checkpoint_dir: Path,
    log_metrics: Callable[[dict[str, float], int], None] | None = None,
    validate: Callable[[int], None] | None = None,
) -> LoopResult:
    """Train from `position` to `spec.max_steps`; `step_fn(batch indices, step)` does one optimizer step.

    `state_fn()` returns what to checkpoint besides the position and RNG (weights, optimizers, schedulers).
    """
    start = position.step
    bar = progress_bar(total=spec.max_steps, desc=spec.desc, unit="step")
    bar.update(position.step)
    t0, times, seen = time.perf_counter(), [], 0
    stream = batch_positions(n_samples, spec.batch_size, spec.seed, position.epoch, position.batch_in_epoch)
    while position.step < spec.max_steps:
        epoch, next_index, batch = next(stream)
        t_step = time.perf_counter()
        losses = step_fn(batch, position.step)
        bad = {k: v for k, v in losses.items() if not math.isfinite(v)}
        if bad:
            raise FloatingPointError(f"{spec.desc}: loss became {bad} at step {position.step + 1}")
        position.epoch, position.batch_in_epoch = epoch, next_index
        position.step += 1
        position.history.append({k: float(v) for k, v in losses.items()})
        times.append(time.perf_counter() - t_step)
        seen += len(batch)
        bar.update(1)
        bar.set_postfix({spec.headline: f"{losses[spec.headline]:.4f}"})
        step = position.step
        if quiet() and (step % spec.log_every == 0 or step == spec.max_steps):
            elapsed = time.perf_counter() - t0
            rate = (step - start) / max(elapsed, 1e-9)
            print(f"{spec.desc} step {step}/{spec.max_steps} {spec.headline} {losses[spec.headline]:.4f} "
                  f"{rate:.2f} it/s eta {(spec.max_steps - step) / max(rate, 1e-9):.0f}s", file=sys.stderr, flush=True)
        if log_metrics and step % spec.log_every == 0:
            recent = times[-spec.log_every:]
            log_metrics({**{metric_key(Metric.TRAIN, k): v for k, v in losses.items()},
                         metric_key(Metric.TRAIN, "step_time_s"): sum(recent) / len(recent),
                         metric_key(Metric.TRAIN, "samples_per_s"): seen / max(time.perf_counter() - t0, 1e-9)}, step)
        if validate and spec.validate_every and step % spec.validate_every == 0 and step < spec.max_steps:
            validate(step)
        if step % spec.checkpoint_every == 0 or step == spec.max_steps:
            save_checkpoint(checkpoint_dir, step, {**state_fn(), "position": position.state_dict()},
                            spec.checkpoints_to_keep)
    bar.close()
    wall = time.perf_counter() - t0
    return LoopResult(start, position.step, list(position.history),
                      sum(times) / len(times) if times else 0.0, seen / wall if times else 0.0, wall)
