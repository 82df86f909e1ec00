"""A training process killed (SIGKILL) after a checkpoint resumes at that step with the saved optimizer state."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import torch
import yaml

from components.params import load_params
from components.train.data import select_samples
from components.train.trainer import Trainer, latest_checkpoint
from tests.conftest import REPO


def _project(tmp_path: Path, dataset: Path) -> Path:
    raw = yaml.safe_load((REPO / "params.yaml").read_text())
    raw["profile"] = "smoke"
    raw["paths"].update(augmented=str(dataset), models=str(tmp_path / "models"), reports=str(tmp_path / "reports"))
    raw["train"].update(buckets=[[32, 32]], max_steps=100000, checkpoint_every=5, cache_dir=str(tmp_path / "cache"),
                        gate={"enabled": False}, tracking={"log_every": 5, "validate_every": 0})
    raw["profiles"]["smoke"]["train"] = {}
    (tmp_path / "params.yaml").write_text(yaml.safe_dump(raw))
    return tmp_path


def _env(root: Path) -> dict:
    return {**os.environ, "VTON_PROJECT_ROOT": str(root), "MLFLOW_TRACKING_URI": f"sqlite:///{root / 'mlflow.db'}",
            "OMP_NUM_THREADS": "1"}


@pytest.mark.slow
def test_killed_run_resumes_at_its_last_checkpoint_with_identical_optimizer_state(tmp_path, dataset):
    root = _project(tmp_path, dataset)
    cmd = [sys.executable, "-m", "components.cli", "train", "--no-register"]
    proc = subprocess.Popen(cmd, cwd=root, env=_env(root), stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    ckpt_root = root / "models" / "checkpoints"
    deadline = time.time() + 240
    try:
        while time.time() < deadline and proc.poll() is None:
            ckpt = next(iter(sorted(ckpt_root.glob("*"))), None) if ckpt_root.is_dir() else None
            if ckpt is not None and (latest := latest_checkpoint(ckpt)) is not None and latest.name != "checkpoint-5":
                break
            time.sleep(0.2)
        assert proc.poll() is None, proc.stdout.read().decode()[-2000:]
        proc.send_signal(signal.SIGKILL)  # pre-emption: no clean-up runs
    finally:
        proc.wait(timeout=60)
    run_dir = next(iter(ckpt_root.iterdir()))
    latest = latest_checkpoint(run_dir)
    step = int(latest.name.split("-")[1])
    assert step >= 10 and step % 5 == 0

    # The saved optimizer state comes back exactly.
    params = load_params(root / "params.yaml").train
    trainer = Trainer(params, select_samples(dataset).samples, run_dir)
    trainer.load_checkpoint(latest)
    assert trainer.position.step == step and len(trainer.position.losses) == step
    saved = torch.load(latest / "optimizer.bin", weights_only=False)
    restored = trainer.optimizer.state_dict()
    assert saved["param_groups"] == restored["param_groups"]
    for key, state in saved["state"].items():
        for name, value in state.items():
            torch.testing.assert_close(restored["state"][key][name], value)

    # `--resume` finds the checkpoint by itself and continues from that step.
    done = subprocess.run(cmd + ["--resume", "--max-steps", str(step + 3)], cwd=root, env=_env(root),
                          capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-3000:]
    assert f"resumed from {latest} at step {step}" in done.stderr
    metrics = json.loads((root / "reports" / "train" / "metrics.json").read_text())
    assert metrics["start_step"] == step and metrics["steps"] == step + 3
