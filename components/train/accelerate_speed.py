"""Per-step costs accelerate adds that are not the model, removed without changing what a step computes."""

from __future__ import annotations

import functools


def cache_lomo_lookup() -> None:
    """Answer accelerate's `is_lomo_available()` once per process instead of on every optimizer step.

    `AcceleratedOptimizer.step` asks it twice per step, and each answer is an importlib search of sys.path;
    whether `lomo_optim` is installed cannot change while the process trains."""
    import accelerate.optimizer as accelerated

    if not isinstance(accelerated.is_lomo_available, functools._lru_cache_wrapper):
        accelerated.is_lomo_available = functools.lru_cache(maxsize=1)(accelerated.is_lomo_available)
