"""Strict state-dict matching shared by every network loader: refuse a checkpoint whose names or shapes differ."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from pathlib import Path

import torch

from components.errors import MissingWeightsError, VtonError


class CheckpointMismatch(VtonError):
    """A checkpoint file does not match the network it is loaded into (names or shapes)."""


def _preview(names: Iterable[str], limit: int = 8) -> str:
    names = sorted(names)
    head = ", ".join(names[:limit])
    return head + (f", ... ({len(names)} in all)" if len(names) > limit else "")


def check_state_dict(
    model: torch.nn.Module,
    state: Mapping[str, torch.Tensor],
    source: str | Path,
    optional_model_keys: tuple[str, ...] = ("num_batches_tracked",),
) -> None:
    """Raise CheckpointMismatch naming every missing, unexpected or wrongly shaped key; return when all match.

    Keys of the model ending in one of `optional_model_keys` (BatchNorm's step counter, which the official
    checkpoints never stored) may be absent from the file.
    """
    expected = model.state_dict()
    required = {k for k in expected if not k.endswith(optional_model_keys)}
    missing = required - set(state)
    unexpected = set(state) - set(expected)
    wrong_shape = [
        f"{k} (file {tuple(state[k].shape)}, network {tuple(expected[k].shape)})"
        for k in sorted(required & set(state))
        if tuple(state[k].shape) != tuple(expected[k].shape)
    ]
    problems = []
    if missing:
        problems.append(f"missing keys: {_preview(missing)}")
    if unexpected:
        problems.append(f"unexpected keys: {_preview(unexpected)}")
    if wrong_shape:
        problems.append(f"wrong shapes: {_preview(wrong_shape)}")
    if problems:
        raise CheckpointMismatch(
            f"checkpoint {source} does not match {type(model).__name__}: " + "; ".join(problems),
            hint="use the official checkpoint file named in components/models/catalog.yaml "
            "(`vton models pull <name>`), not a re-saved or differently trained one",
        )


def load_checked(model: torch.nn.Module, state: Mapping[str, torch.Tensor], source: str | Path) -> torch.nn.Module:
    """Check `state` strictly against `model`, copy it in, and return the model in eval mode."""
    check_state_dict(model, state, source)
    model.load_state_dict(dict(state), strict=False)
    return model.eval()


def require_file(path: str | Path, what: str) -> Path:
    """Return `path` as a Path, or raise MissingWeightsError naming it when it does not exist."""
    p = Path(path)
    if not p.is_file():
        raise MissingWeightsError(f"{what} weights not found: {p}", hint="run `vton models pull` or place the file there by hand")
    return p


def build_for_loading(factory) -> torch.nn.Module:
    """Construct a network without spending seconds on random initialisation: the strict load overwrites every
    stored tensor; buffers checkpoints never hold (BatchNorm step counters) are zeroed here."""
    with torch.device("meta"):
        model = factory()
    model = model.to_empty(device="cpu")
    for name, buf in model.named_buffers():
        if name.endswith("num_batches_tracked"):
            buf.zero_()
    return model
