"""The smoke-training gate: can the model overfit a handful of samples? If the loss will not fall, stop early.

The loss is measured on fixed (noise, sigma) draws before and after a short burst of training, so the
comparison is not at the mercy of which timesteps happened to be sampled. The trained weights are restored
afterwards: the gate never leaks into the real run.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import torch

from components.errors import GateFailed
from components.train.params import GateParams


@dataclass
class GateResult:
    """Loss on the fixed draws before and after overfitting, and whether it fell by the required factor."""

    initial_loss: float
    final_loss: float
    required_factor: float
    steps: int

    @property
    def factor(self) -> float:
        """initial / final loss (inf when the final loss is zero)."""
        return self.initial_loss / self.final_loss if self.final_loss > 0 else float("inf")

    @property
    def passed(self) -> bool:
        """True when the loss fell by at least the required factor."""
        return self.factor >= self.required_factor

    def summary(self) -> str:
        """One line for logs and error messages."""
        return (f"overfit gate: loss {self.initial_loss:.4g} -> {self.final_loss:.4g} in {self.steps} steps "
                f"(fell {self.factor:.2f}x, required {self.required_factor:.2f}x)")


def run_overfit_gate(
    loss_fn: Callable[..., torch.Tensor],
    parameters: list[torch.nn.Parameter],
    spec: GateParams,
    seed: int = 0,
) -> GateResult:
    """Train `parameters` on `loss_fn(noise_seed=None|int)` for `spec.steps` steps; measure fixed-draw loss."""

    def fixed_loss() -> float:
        with torch.no_grad():
            return float(sum(loss_fn(draw=seed + d).item() for d in range(spec.eval_noise_draws)) / spec.eval_noise_draws)

    saved = [p.detach().clone() for p in parameters]
    initial = fixed_loss()
    opt = torch.optim.AdamW(parameters, lr=spec.learning_rate, weight_decay=0.0)
    for step in range(spec.steps):
        opt.zero_grad(set_to_none=True)
        loss = loss_fn(draw=seed + step % spec.eval_noise_draws)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(parameters, 1.0)
        opt.step()
    final = fixed_loss()
    with torch.no_grad():
        for p, s in zip(parameters, saved):
            p.copy_(s)
    return GateResult(initial_loss=initial, final_loss=final, required_factor=spec.min_loss_drop_factor, steps=spec.steps)


def enforce(result: GateResult) -> None:
    """Raise GateFailed (exit 3) when the overfit check did not pass."""
    if not result.passed:
        raise GateFailed(
            result.summary(),
            hint="the model cannot overfit a few samples: check the learning rate, the adapter targets and the "
            "data (masks, captions) before spending GPU hours; or lower train.gate.min_loss_drop_factor",
        )
