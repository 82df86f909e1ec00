"""Atomic, exact checkpoints for the baseline families: weights, optimizers, RNG streams and data position.

A checkpoint is `checkpoint-<step>/state.pt`, written under `.tmp-checkpoint-<step>` and renamed only once
complete (as components/train/trainer.py does, whose accelerate checkpoints are found and pruned by the same
functions here), so a run killed mid-save never resumes from half a file.
"""

from __future__ import annotations

import random
import re
import shutil
from pathlib import Path
from typing import Any

import numpy as np
import torch

CHECKPOINT_RE = re.compile(r"^checkpoint-(\d+)$")
STATE_FILE = "state.pt"


def latest_checkpoint(checkpoint_dir: Path, complete_file: str = STATE_FILE) -> Path | None:
    """The complete checkpoint with the highest step under `checkpoint_dir`: a `checkpoint-<step>` folder holding
    `complete_file` (the file its writer writes last); partial `.tmp-*` folders and empty ones are ignored."""
    if not checkpoint_dir.is_dir():
        return None
    found = [(int(m.group(1)), p) for p in checkpoint_dir.iterdir()
             if (m := CHECKPOINT_RE.match(p.name)) and (p / complete_file).is_file()]
    return max(found)[1] if found else None


def prune_checkpoints(checkpoint_dir: Path, keep: int) -> None:
    """Remove all but the newest `keep` `checkpoint-<step>` folders under `checkpoint_dir`."""
    done = sorted((int(m.group(1)), p) for p in checkpoint_dir.iterdir() if (m := CHECKPOINT_RE.match(p.name)))
    for _, old in done[:-keep]:
        shutil.rmtree(old, ignore_errors=True)


def rng_state() -> dict[str, Any]:
    """Every RNG stream a training step may draw from (python, numpy, torch CPU and CUDA)."""
    state = {"python": random.getstate(), "numpy": np.random.get_state(), "torch": torch.get_rng_state()}
    if torch.cuda.is_available():
        state["cuda"] = torch.cuda.get_rng_state_all()
    return state


def set_rng_state(state: dict[str, Any]) -> None:
    """Restore what `rng_state` captured."""
    random.setstate(state["python"])
    np.random.set_state(state["numpy"])
    torch.set_rng_state(state["torch"])
    if "cuda" in state and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(state["cuda"])


def save_checkpoint(checkpoint_dir: Path, step: int, state: dict[str, Any], keep: int = 2) -> Path:
    """Write `state` (plus the RNG streams) as checkpoint-<step> atomically; keep the newest `keep`."""
    final = checkpoint_dir / f"checkpoint-{step}"
    tmp = checkpoint_dir / f".tmp-checkpoint-{step}"
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir(parents=True)
    torch.save({**state, "rng": rng_state(), "step": step}, tmp / STATE_FILE)
    shutil.rmtree(final, ignore_errors=True)
    tmp.replace(final)
    prune_checkpoints(checkpoint_dir, keep)
    return final


def load_checkpoint(path: Path, restore_rng: bool = True) -> dict[str, Any]:
    """The state saved at `path` (a checkpoint-<step> folder); restores the RNG streams unless told not to."""
    state = torch.load(path / STATE_FILE, map_location="cpu", weights_only=False)  # our own file: RNG states pickle
    if restore_rng:
        set_rng_state(state["rng"])
    return state
