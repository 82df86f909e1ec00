"""The resumable try-on trainer: accelerate for devices and precision, content-keyed caches, bucketed batches,
state checkpoints every N steps (with the data position), tracking to the retrain's MLflow run.
"""

from __future__ import annotations

import json
import math
import os
import re
import shutil
import sys
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path

import torch

from components.progress import progress_bar, quiet
from components.train.adapters import SizeConditioner, apply_adapters
from components.train.base_model import BaseModel, load_base
from components.train.cache import CacheReport, cache_latents, cache_size_maps, encode_prompts
from components.train.data import (
    CachedLatentDataset,
    StreamBatchSampler,
    TrainSample,
    batch_stream,
    bucket_of,
    collate,
)
from components.train.flow_matching import scheduler_training_sigmas
from components.train.gate import GateResult, enforce, run_overfit_gate
from components.train.params import TrainParams
from components.train.size_map import read_size_map
from components.train.step import StepConfig, flow_matching_loss
from components.tracking.contract import Metric, metric_key

CATEGORIES = ("upper_body", "lower_body", "dresses")
CHECKPOINT_RE = re.compile(r"^checkpoint-(\d+)$")
TRAINABLE_FILE = "trainable.safetensors"


@dataclass
class DataPosition:
    """Where the run is: optimizer steps done, epoch, batches consumed in the epoch, and the loss history."""

    step: int = 0
    epoch: int = 0
    batch_in_epoch: int = 0
    losses: list[float] = field(default_factory=list)

    def state_dict(self) -> dict:
        """For accelerate's register_for_checkpointing."""
        return asdict(self)

    def load_state_dict(self, state: dict) -> None:
        """Restore from a checkpoint."""
        for k, v in state.items():
            setattr(self, k, v)


@dataclass
class TrainResult:
    """What a training run did, for metrics.json, MLflow and the packaged model."""

    steps: int
    start_step: int
    losses: list[float]
    samples_per_s: float
    step_time_s: float
    peak_memory_mb: float
    cache: CacheReport
    n_samples: int
    resumed_from: str | None = None
    gate: GateResult | None = None
    optimizer: str = "adamw"

    def metrics(self) -> dict:
        """Flat figures for reports/train/metrics.json."""
        tail = self.losses[-max(1, len(self.losses) // 5):] if self.losses else [float("nan")]
        head = self.losses[: max(1, len(self.losses) // 5)] if self.losses else [float("nan")]
        out = {
            "steps": self.steps,
            "start_step": self.start_step,
            "samples": self.n_samples,
            "loss_first": float(sum(head) / len(head)),
            "loss_last": float(sum(tail) / len(tail)),
            "samples_per_s": round(self.samples_per_s, 4),
            "step_time_s": round(self.step_time_s, 4),
            "peak_memory_mb": round(self.peak_memory_mb, 1),
            "latents_encoded": self.cache.encoded,
            "latents_cached": self.cache.cached,
        }
        if self.gate is not None:
            out.update(gate_initial_loss=self.gate.initial_loss, gate_final_loss=self.gate.final_loss,
                       gate_factor=self.gate.factor, gate_passed=self.gate.passed)
        return out


def latest_checkpoint(checkpoint_dir: Path) -> Path | None:
    """The complete checkpoint with the highest step under `checkpoint_dir` (partial `.tmp` dirs are ignored)."""
    if not checkpoint_dir.is_dir():
        return None
    found = [(int(m.group(1)), p) for p in checkpoint_dir.iterdir() if (m := CHECKPOINT_RE.match(p.name)) and p.is_dir()]
    return max(found)[1] if found else None


def peak_memory_mb(device: torch.device) -> float:
    """Peak accelerator memory (CUDA) or the process's peak resident memory (CPU), in MiB."""
    if device.type == "cuda":
        return torch.cuda.max_memory_allocated(device) / 2**20
    import resource

    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # Linux reports KiB


def _make_optimizer(params: TrainParams, trainable: list[torch.nn.Parameter], device: torch.device):
    opt = params.optimizer
    kwargs = dict(lr=params.learning_rate, betas=(opt.beta1, opt.beta2), eps=opt.eps, weight_decay=opt.weight_decay)
    if opt.eight_bit:
        if device.type != "cuda":
            print("train: optimizer.eight_bit needs CUDA; using torch AdamW", file=sys.stderr)
        else:
            try:
                import bitsandbytes as bnb
            except ImportError:
                print("train: bitsandbytes is not installed; using torch AdamW (pip install bitsandbytes for "
                      "8-bit AdamW)", file=sys.stderr)
            else:
                return bnb.optim.AdamW8bit(trainable, **kwargs), "adamw8bit"
    return torch.optim.AdamW(trainable, **kwargs), "adamw"


class Trainer:
    """Owns the accelerator, the model with its adapters, the cached data and the run's position."""

    def __init__(
        self,
        params: TrainParams,
        samples: list[TrainSample],
        checkpoint_dir: Path,
        seed: int = 0,
        base: BaseModel | None = None,
        log_fn: Callable[[dict, int], None] | None = None,
        accelerator=None,
    ) -> None:
        from accelerate import Accelerator
        from accelerate.utils import DistributedType, set_seed

        from components.train.accelerate_speed import cache_lomo_lookup

        cache_lomo_lookup()

        self.params, self.samples, self.seed = params, samples, seed
        self.checkpoint_dir = checkpoint_dir
        self.log_fn = log_fn
        if params.num_threads:
            torch.set_num_threads(params.num_threads)
        self.accelerator = accelerator or Accelerator(
            mixed_precision=params.mixed_precision,
            gradient_accumulation_steps=params.gradient_accumulation_steps,
            cpu=params.device == "cpu" or (params.device == "auto" and not torch.cuda.is_available()),
        )
        acc = self.accelerator
        set_seed(seed)
        weight_dtype = {"bf16": torch.bfloat16, "fp16": torch.float16}.get(params.mixed_precision, torch.float32)
        self.base = base or load_base(params, device=str(acc.device))
        pipe = self.base.pipe
        for m in (pipe.vae, pipe.text_encoder, pipe.text_encoder_2):
            m.requires_grad_(False)
        self.transformer = pipe.transformer
        # Frozen base weights in the compute dtype; trainable weights stay fp32 for stable updates.
        self.transformer.to(acc.device, dtype=weight_dtype)
        self.trainable = apply_adapters(self.transformer, params)
        for p in self.trainable:
            p.data = p.data.float()
        if params.gradient_checkpointing:
            self.transformer.enable_gradient_checkpointing()
        self.size = None
        size_aware = params.size_conditioning.enabled
        if size_aware:
            self.size = SizeConditioner(len(params.size_conditioning.columns),
                                        self.transformer.config.pooled_projection_dim).to(acc.device)
            self.trainable += list(self.size.parameters())
            # The size map's x_embedder columns (zero, fp32, trainable in either mode): components/train/size_map.py
            self.trainable.append(read_size_map(self.transformer, self.base.vae_scale_factor).size_weight)
        grid = (scheduler_training_sigmas(pipe.scheduler.config) if params.timesteps.sampling == "scheduler"
                else None)
        self.step_cfg = StepConfig(params.timesteps, params.train_guidance_scale, self.base.vae_scale_factor,
                                   params.loss_region, grid, size_map=size_aware)

        # Data: latents and prompt embeddings through the content-keyed cache (main process first).
        cache_dir = Path(params.cache_dir)
        self.panels = [bucket_of(s, [tuple(b) for b in params.buckets]) for s in samples]
        with acc.main_process_first():
            files, self.cache_report = cache_latents(samples, self.panels, self.base, cache_dir, params.mask_threshold)
            prompts = params.category_prompts()
            self.text = encode_prompts(self.base, [prompts[c] for c in CATEGORIES], cache_dir)
            size_maps = cache_size_maps(samples, self.panels, cache_dir) if size_aware else None
        if acc.device.type == "cuda":
            # Everything the encoders produce is cached: keep T5-XXL (~9.5 GB) and CLIP off the GPU while training.
            pipe.text_encoder.to("cpu")
            pipe.text_encoder_2.to("cpu")
        self.dataset = CachedLatentDataset(files, [CATEGORIES.index(s.category) for s in samples],
                                           [s.ratios or (1.0,) for s in samples], in_memory=params.num_workers == 0,
                                           size_maps=size_maps)

        self.optimizer, self.optimizer_name = _make_optimizer(params, self.trainable, acc.device)
        from diffusers.optimization import get_scheduler

        self.lr_scheduler = get_scheduler(
            params.optimizer.scheduler, self.optimizer,
            num_warmup_steps=params.optimizer.warmup_steps * acc.num_processes,
            num_training_steps=params.max_steps * acc.num_processes,
        )
        self.position = DataPosition()
        self.deepspeed = acc.distributed_type == DistributedType.DEEPSPEED
        if self.deepspeed:
            # No dataloader goes through prepare() (the bucketed sampler is ours), so DeepSpeed needs the size here.
            acc.state.deepspeed_plugin.deepspeed_config["train_micro_batch_size_per_gpu"] = params.batch_size
        if not self.deepspeed:
            acc.register_save_state_pre_hook(self._save_hook)
            acc.register_load_state_pre_hook(self._load_hook)
        modules = [self.transformer] + ([self.size] if self.size is not None else [])
        prepared = acc.prepare(*modules, self.optimizer, self.lr_scheduler)
        self.model = prepared[0]
        if self.size is not None:
            self.size = prepared[1]
        self.optimizer, self.lr_scheduler = prepared[-2], prepared[-1]
        acc.register_for_checkpointing(self.position)
        if params.compile:
            self.model = torch.compile(self.model)

    # -- checkpoints -------------------------------------------------------------------------------------------
    def _save_hook(self, models, weights, output_dir) -> None:
        """Write only the trained weights (not the frozen 12B base) and keep accelerate from writing models."""
        from safetensors.torch import save_file

        if self.accelerator.is_main_process:
            state = {f"transformer.{n}": p.detach().float().cpu().contiguous()
                     for n, p in self.accelerator.unwrap_model(self.transformer).named_parameters() if p.requires_grad}
            if self.size is not None:
                state.update({f"size.{k}": v.detach().float().cpu().contiguous()
                              for k, v in self.accelerator.unwrap_model(self.size).state_dict().items()})
            save_file(state, os.path.join(output_dir, TRAINABLE_FILE))
        weights.clear()

    def _load_hook(self, models, input_dir) -> None:
        from safetensors.torch import load_file

        models.clear()
        state = load_file(os.path.join(input_dir, TRAINABLE_FILE))
        own = {f"transformer.{n}": p for n, p in self.accelerator.unwrap_model(self.transformer).named_parameters()}
        if self.size is not None:
            own.update({f"size.{n}": p for n, p in self.accelerator.unwrap_model(self.size).named_parameters()})
        missing = [k for k in state if k not in own]
        if missing:
            raise ValueError(f"{input_dir}: checkpoint weights {missing[:3]} do not match this model")
        # A checkpoint from before a trainable weight existed (say the size map's) would leave it untrained unseen.
        absent = [k for k, p in own.items() if p.requires_grad and k not in state]
        if absent:
            raise ValueError(f"{input_dir}: checkpoint lacks the trainable weights {absent[:3]}; it was written by "
                             "another model set-up (start a fresh run: remove that checkpoint folder)")
        with torch.no_grad():
            for k, v in state.items():
                own[k].copy_(v.to(own[k].dtype))

    def save_checkpoint(self) -> Path:
        """Save the accelerate state at the current step atomically; prune old checkpoints."""
        acc = self.accelerator
        final = self.checkpoint_dir / f"checkpoint-{self.position.step}"
        tmp = self.checkpoint_dir / f".tmp-checkpoint-{self.position.step}"
        if acc.is_main_process:
            shutil.rmtree(tmp, ignore_errors=True)
            tmp.mkdir(parents=True, exist_ok=True)
        acc.wait_for_everyone()
        acc.save_state(str(tmp))
        acc.wait_for_everyone()
        if acc.is_main_process:
            shutil.rmtree(final, ignore_errors=True)
            tmp.replace(final)  # a checkpoint appears under its real name only once complete
            done = sorted((int(m.group(1)), p) for p in self.checkpoint_dir.iterdir()
                          if (m := CHECKPOINT_RE.match(p.name)))
            for _, old in done[: -self.params.checkpoints_to_keep]:
                shutil.rmtree(old, ignore_errors=True)
        acc.wait_for_everyone()
        return final

    def load_checkpoint(self, path: Path) -> None:
        """Restore weights, optimizer, LR schedule, RNG and data position from `path`."""
        self.accelerator.load_state(str(path))

    # -- training ---------------------------------------------------------------------------------------------
    def loss_on(self, batch: dict[str, torch.Tensor], draw: int) -> torch.Tensor:
        """The loss of `batch` with noise and sigmas drawn from a generator seeded by `draw` (reproducible)."""
        g = torch.Generator().manual_seed(self.seed * 1_000_003 + draw)
        return flow_matching_loss(self.model, batch, self.text, self.step_cfg, g, self.size)

    def first_batch(self, n: int) -> dict[str, torch.Tensor]:
        """The first `n` samples of one bucket, as one batch (for the overfit gate and tests)."""
        first = self.panels[0]
        idx = [i for i, p in enumerate(self.panels) if p == first][:n]
        return collate([self.dataset[i] for i in idx])

    def run_gate(self) -> GateResult:
        """The smoke-training gate on a handful of samples; raises GateFailed when the loss will not fall."""
        batch = self.first_batch(self.params.gate.samples)
        result = run_overfit_gate(lambda draw: self.loss_on(batch, draw), self.trainable, self.params.gate, self.seed)
        print(result.summary(), file=sys.stderr)
        enforce(result)
        return result

    def _stream_args(self) -> tuple:
        acc, pos = self.accelerator, self.position
        return (self.panels, self.params.batch_size, self.seed, pos.epoch, pos.batch_in_epoch, acc.process_index,
                acc.num_processes)

    def _loader(self):
        """One DataLoader for the rest of the run (workers prefetch across epoch boundaries)."""
        w = self.params.num_workers
        return torch.utils.data.DataLoader(
            self.dataset, batch_sampler=StreamBatchSampler(self._stream_args()), collate_fn=collate,
            num_workers=w, pin_memory=self.params.pin_memory and self.accelerator.device.type == "cuda",
            prefetch_factor=4 if w else None,
        )

    def fit(self, on_step: Callable[[int, float], None] | None = None) -> TrainResult:
        """Train to `max_steps` from the current position, checkpointing every `checkpoint_every` steps."""
        acc, p, pos = self.accelerator, self.params, self.position
        start_step = pos.step
        self.model.train()
        bar = progress_bar(total=p.max_steps, desc="train", unit="step")
        bar.update(pos.step)
        t0, samples_seen, step_times = time.perf_counter(), 0, []
        if pos.step < p.max_steps:
            # The loader and this position stream walk the same deterministic batch order in lockstep.
            for (epoch, next_index, _), batch in zip(batch_stream(*self._stream_args()), self._loader()):
                t_step = time.perf_counter()
                with acc.accumulate(self.model):
                    loss = self.loss_on(batch, pos.step * p.gradient_accumulation_steps + pos.batch_in_epoch)
                    acc.backward(loss)
                    if acc.sync_gradients:
                        acc.clip_grad_norm_(self.trainable, p.optimizer.max_grad_norm)
                    self.optimizer.step()
                    self.lr_scheduler.step()
                    self.optimizer.zero_grad(set_to_none=True)
                pos.epoch, pos.batch_in_epoch = epoch, next_index
                samples_seen += batch["latents"].shape[0] * acc.num_processes
                if not acc.sync_gradients:
                    continue
                pos.step += 1
                value = float(acc.gather(loss.detach()).mean())
                if not math.isfinite(value):
                    raise FloatingPointError(f"train: loss became {value} at step {pos.step}")
                pos.losses.append(value)
                step_times.append(time.perf_counter() - t_step)
                bar.update(1)
                bar.set_postfix(loss=f"{value:.4f}", lr=f"{self.lr_scheduler.get_last_lr()[0]:.2e}")
                if quiet() and (pos.step % p.tracking.log_every == 0 or pos.step == p.max_steps):
                    rate = pos.step - start_step
                    elapsed = time.perf_counter() - t0
                    eta = (p.max_steps - pos.step) * elapsed / max(rate, 1)
                    print(f"train step {pos.step}/{p.max_steps} loss {value:.4f} "
                          f"{rate / max(elapsed, 1e-9):.2f} it/s eta {eta:.0f}s", file=sys.stderr, flush=True)
                if self.log_fn and pos.step % p.tracking.log_every == 0:
                    now = time.perf_counter()
                    recent = step_times[-p.tracking.log_every:]
                    self.log_fn({
                        metric_key(Metric.TRAIN, "loss"): value,
                        metric_key(Metric.TRAIN, "lr"): self.lr_scheduler.get_last_lr()[0],
                        metric_key(Metric.TRAIN, "step_time_s"): sum(recent) / len(recent),
                        metric_key(Metric.TRAIN, "samples_per_s"): samples_seen / max(now - t0, 1e-9),
                        metric_key(Metric.TRAIN, "peak_memory_mb"): peak_memory_mb(acc.device),
                    }, pos.step)
                if on_step:
                    on_step(pos.step, value)
                if pos.step % p.checkpoint_every == 0 or pos.step == p.max_steps:
                    self.save_checkpoint()
                if pos.step >= p.max_steps:
                    break
        bar.close()
        elapsed = time.perf_counter() - t0
        done = pos.step - start_step
        return TrainResult(
            steps=pos.step, start_step=start_step, losses=list(pos.losses),
            samples_per_s=samples_seen / elapsed if done else 0.0,
            step_time_s=sum(step_times) / len(step_times) if step_times else 0.0,
            peak_memory_mb=peak_memory_mb(acc.device), cache=self.cache_report, n_samples=len(self.samples),
            optimizer=self.optimizer_name,
        )

    def unwrapped_transformer(self) -> torch.nn.Module:
        """The transformer without accelerate/compile wrappers (adapters attached)."""
        model = self.accelerator.unwrap_model(self.model)
        return getattr(model, "_orig_mod", model)


def run_summary(result: TrainResult) -> str:
    """One line for the CLI."""
    m = result.metrics()
    return (f"trained {m['steps']} steps (from {m['start_step']}) on {m['samples']} samples: loss "
            f"{m['loss_first']:.4f} -> {m['loss_last']:.4f}, {m['samples_per_s']:.2f} samples/s, "
            f"peak memory {m['peak_memory_mb']:.0f} MiB")


def dump_json(path: Path, data: dict) -> None:
    """Write `data` as indented JSON, creating the folder."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(data, indent=2, sort_keys=True) + "\n")
