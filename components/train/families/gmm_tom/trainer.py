"""The two-phase GMM + TOM trainer: GMM first, then TOM on the frozen GMM's warps, resumable at any step.

A checkpoint holds the networks, every optimizer, the RNG streams (families.checkpoint) and the data position
(phase, step in phase, epoch, batch in epoch). The batch order is a pure function of (seed, phase, epoch), so a
resumed run replays exactly the batches an uninterrupted one would have seen.
"""

from __future__ import annotations

import math
import random
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import asdict, dataclass, field
from pathlib import Path

import torch

from components.progress import progress_bar, quiet
from components.train.families.checkpoint import load_checkpoint, save_checkpoint
from components.train.families.gmm_tom.losses import PerceptualFn, gmm_loss, lsgan, region_l1, tom_loss, worn_garment
from components.train.families.gmm_tom.model import BATCH_KEYS, GmmTom
from components.train.families.gmm_tom.params import GmmTomParams
from components.train.families.representation import PersonInputs, collate_inputs

PHASES = ("gmm", "tom")


class PairData:
    """Training pairs as batches: `load(i)` gives sample i's PersonInputs (kept in memory once loaded)."""

    def __init__(self, n: int, load: Callable[[int], PersonInputs], cache: bool = True,
                 categories: list[str] | None = None) -> None:
        self.n, self.load, self.cache = n, load, cache
        self.categories = categories  # known without loading (the manifest's), for picking grid rows
        self._cached: dict[int, PersonInputs] = {}

    @classmethod
    def of(cls, items: list[PersonInputs]) -> "PairData":
        """Pairs already in memory."""
        return cls(len(items), items.__getitem__, cache=False, categories=[it.category for it in items])

    def category(self, i: int) -> str:
        """The garment category of sample `i`."""
        return self.categories[i] if self.categories is not None else self.item(i).category

    def __len__(self) -> int:
        return self.n

    def item(self, i: int) -> PersonInputs:
        """Sample `i`."""
        if i in self._cached:
            return self._cached[i]
        item = self.load(i)
        if self.cache:
            self._cached[i] = item
        return item

    def batch(self, indices: list[int], device: torch.device) -> dict[str, torch.Tensor]:
        """Samples `indices` collated into one batch of the model's tensors on `device`."""
        batch = collate_inputs([self.item(i) for i in indices])
        return {k: batch[k].to(device) for k in BATCH_KEYS}


class _Items(torch.utils.data.Dataset):
    """PairData as a map-style dataset of tensor dicts, for DataLoader workers."""

    def __init__(self, data: PairData) -> None:
        self.data = data

    def __len__(self) -> int:
        return len(self.data)

    def __getitem__(self, i: int) -> PersonInputs:
        return self.data.item(i)


def _collate(items: list[PersonInputs]) -> dict[str, torch.Tensor]:
    batch = collate_inputs(items)
    return {k: batch[k] for k in BATCH_KEYS}


class _IndexStream(torch.utils.data.Sampler):
    """The batches of `stream()` (epoch, next index, indices) as a batch sampler."""

    def __init__(self, stream: Callable[[], Iterator[tuple[int, int, list[int]]]]) -> None:
        self.stream = stream

    def __iter__(self) -> Iterator[list[int]]:
        return (indices for _, _, indices in self.stream())


def epoch_batches(n: int, batch_size: int, seed: int, phase: str, epoch: int) -> list[list[int]]:
    """The batches of one epoch of `phase`: a seeded permutation cut into full batches (one batch if n is small)."""
    g = torch.Generator().manual_seed(seed * 1_000_003 + PHASES.index(phase) * 10_007 + epoch)
    order = torch.randperm(n, generator=g).tolist()
    if n <= batch_size:
        return [order]
    return [order[i:i + batch_size] for i in range(0, n - batch_size + 1, batch_size)]


@dataclass(frozen=True)
class Schedule:
    """How often to checkpoint, log and draw grids, and where to run: the shared `train` keys."""

    checkpoint_every: int = 100
    checkpoints_to_keep: int = 2
    num_workers: int = 0  # DataLoader workers that read and build the inputs (0: in this process, cached)
    pin_memory: bool = False
    log_every: int = 10
    validate_every: int = 0  # 0: a grid at the end of each phase only
    validation_per_category: int = 1
    device: str = "auto"
    num_threads: int = 0

    @classmethod
    def from_train(cls, tp) -> "Schedule":
        """The schedule of a TrainParams."""
        return cls(tp.checkpoint_every, tp.checkpoints_to_keep, tp.num_workers, tp.pin_memory, tp.tracking.log_every,
                   tp.tracking.validate_every, tp.tracking.validation_per_category, tp.device, tp.num_threads)


@dataclass
class Position:
    """Where the run is: the phase, optimizer steps done in it, epoch and batch in epoch, the loss history."""

    phase: str = PHASES[0]
    step: int = 0
    epoch: int = 0
    batch_in_epoch: int = 0
    history: list[list] = field(default_factory=list)  # [global step, phase, loss]


@dataclass
class PhaseTiming:
    """Steps done and seconds spent in a phase by this process (not counting steps done before a resume)."""

    steps: int = 0
    seconds: float = 0.0

    @property
    def steps_per_s(self) -> float:
        """Optimizer steps per second (0 when none ran)."""
        return self.steps / self.seconds if self.seconds > 0 else 0.0


def peak_memory_mb(device: torch.device) -> float:
    """Peak CUDA memory allocated, or the process's peak resident memory on CPU, in MiB."""
    if device.type == "cuda":
        return torch.cuda.max_memory_allocated(device) / 2**20
    import resource

    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # Linux reports KiB


def resolve_device(choice: str) -> torch.device:
    """`auto` is CUDA when available, else CPU."""
    if choice == "cuda" or (choice == "auto" and torch.cuda.is_available()):
        return torch.device("cuda")
    return torch.device("cpu")


class GmmTomTrainer:
    """Owns the model, its optimizers, the data and the run's position; `fit` trains both phases to the end."""

    def __init__(self, params: GmmTomParams, data: PairData, checkpoint_dir: Path, seed: int = 0,
                 schedule: Schedule = Schedule(), perceptual: PerceptualFn | None = None,
                 val_data: PairData | None = None, log_metrics: Callable[[dict[str, float], int], None] | None = None,
                 log_image: Callable[[object, str], None] | None = None, size_conditioning: bool = False) -> None:
        if len(data) == 0:
            raise ValueError("gmm_tom: no training pairs")
        self.params, self.schedule, self.data, self.val_data, self.seed = params, schedule, data, val_data, seed
        self.checkpoint_dir = checkpoint_dir
        self.perceptual = perceptual
        self.log_metrics, self.log_image = log_metrics, log_image
        if schedule.num_threads:
            torch.set_num_threads(schedule.num_threads)
        self.device = resolve_device(schedule.device)
        torch.manual_seed(seed)
        random.seed(seed)
        self.model = GmmTom(params, size_conditioning=size_conditioning).to(self.device)
        adam = dict(lr=params.learning_rate, betas=(params.beta1, params.beta2))
        self.optimizers = {"gmm": torch.optim.Adam(self.model.gmm.parameters(), **adam),
                           "tom": torch.optim.Adam(self.model.tom.parameters(), **adam)}
        if self.model.critic is not None:
            self.optimizers["critic"] = torch.optim.Adam(self.model.critic.parameters(), **adam)
        self.position = Position()
        self.timing = {phase: PhaseTiming() for phase in PHASES}

    # -- position --------------------------------------------------------------------------------------------
    def phase_steps(self, phase: str) -> int:
        """Optimizer steps `phase` runs for."""
        return getattr(self.params.steps, phase)

    @property
    def total_steps(self) -> int:
        """GMM steps plus TOM steps."""
        return sum(self.phase_steps(p) for p in PHASES)

    @property
    def global_step(self) -> int:
        """Steps done over both phases."""
        pos = self.position
        return sum(self.phase_steps(p) for p in PHASES[:PHASES.index(pos.phase)]) + pos.step

    def _loader(self) -> Iterator[dict[str, torch.Tensor]]:
        """The batches of `_batches()`, read by DataLoader workers when `num_workers` > 0."""
        w = self.schedule.num_workers
        if not w:
            return (self.data.batch(indices, self.device) for _, _, indices in self._batches())
        loader = torch.utils.data.DataLoader(
            _Items(self.data), batch_sampler=_IndexStream(self._batches), collate_fn=_collate, num_workers=w,
            pin_memory=self.schedule.pin_memory and self.device.type == "cuda", prefetch_factor=4,
        )
        return ({k: v.to(self.device, non_blocking=True) for k, v in b.items()} for b in loader)

    def _batches(self) -> Iterator[tuple[int, int, list[int]]]:
        """(epoch, next batch index, indices) from the current position of the current phase, forever."""
        pos = self.position
        phase, epoch, start = pos.phase, pos.epoch, pos.batch_in_epoch
        while True:
            batches = epoch_batches(len(self.data), self.params.batch_size, self.seed, phase, epoch)
            for i in range(start, len(batches)):
                yield epoch, i + 1, batches[i]
            epoch, start = epoch + 1, 0

    # -- checkpoints -----------------------------------------------------------------------------------------
    def state(self) -> dict:
        """Networks, optimizers, position and params (the checkpoint adds the RNG streams)."""
        return {"model": self.model.state_dict(),
                "optimizers": {k: o.state_dict() for k, o in self.optimizers.items()},
                "position": asdict(self.position), "params": self.params.model_dump(mode="json")}

    def save_checkpoint(self) -> Path:
        """checkpoint-<global step>, written to a temp folder then renamed (families.checkpoint)."""
        return save_checkpoint(self.checkpoint_dir, self.global_step, self.state(), self.schedule.checkpoints_to_keep)

    def load_checkpoint(self, path: Path) -> None:
        """Restore networks, optimizers, RNG streams and the data position (phase included) from `path`."""
        state = load_checkpoint(path)
        missing = set(self.optimizers) - set(state["optimizers"])
        if missing:
            raise ValueError(f"{path}: checkpoint has no optimizer state for {sorted(missing)} "
                             "(train.gmm_tom.weights.adversarial changed?); start a fresh run")
        self.model.load_state_dict(state["model"])
        for k, opt in self.optimizers.items():
            opt.load_state_dict(state["optimizers"][k])
        self.position = Position(**state["position"])

    # -- steps -----------------------------------------------------------------------------------------------
    def _clip_step(self, name: str, loss: torch.Tensor) -> None:
        opt = self.optimizers[name]
        opt.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_([p for g in opt.param_groups for p in g["params"]], self.params.max_grad_norm)
        opt.step()

    def gmm_step(self, batch: dict[str, torch.Tensor]) -> dict[str, float]:
        """One GMM optimizer step; returns its loss terms."""
        self.model.gmm.train()
        out = self.model.warp(batch)
        loss, terms = gmm_loss(out, batch, self.params.weights, self.params.grid_size)
        self._clip_step("gmm", loss)
        return terms

    def tom_step(self, batch: dict[str, torch.Tensor]) -> dict[str, float]:
        """One TOM (and critic) optimizer step on the frozen GMM's warp; returns its loss terms."""
        model = self.model
        model.gmm.eval()
        with torch.no_grad():
            warp = model.warp(batch)
        model.tom.train()
        out = model.render(batch, warp)
        critic = (lambda image: model.critique(batch, image)) if model.critic is not None else None
        if critic is not None:
            model.critic.requires_grad_(False)  # the generator's step must not move the critic
        pp = self.params.perceptual
        loss, terms = tom_loss(out, warp, batch, self.params.weights, self.perceptual, pp.weight, pp.style_weight,
                               critic)
        self._clip_step("tom", loss)
        if critic is not None:
            model.critic.requires_grad_(True)
            d_loss = (lsgan(critic(batch["target"]), real=True) + lsgan(critic(out["result"].detach()), real=False)) / 2
            self._clip_step("critic", d_loss)
            terms["critic"] = float(d_loss.detach())
        return terms

    # -- evaluation and pictures -----------------------------------------------------------------------------
    def evaluate(self, data: PairData | None = None) -> dict[str, float]:
        """Held-out L1 in the garment region ([0, 1] units): the result vs the copy-the-agnostic-image baseline,
        and the GMM's warp vs the unwarped garment (both against the garment as worn)."""
        data = data or self.val_data or self.data
        model_l1, baseline_l1, warp_l1, unwarped_l1, n = 0.0, 0.0, 0.0, 0.0, 0
        self.model.eval()
        for start in range(0, len(data), self.params.batch_size):
            idx = list(range(start, min(start + self.params.batch_size, len(data))))
            batch = data.batch(idx, self.device)
            out = self.model.try_on(batch)
            region = garment_region(batch)
            model_l1 += float(region_l1(out["result"], batch["target"], region).sum())
            baseline_l1 += float(region_l1(batch["agnostic"], batch["target"], region).sum())
            worn = worn_garment(batch)
            warp_l1 += float(region_l1(out["warped"], worn, region).sum())
            unwarped_l1 += float(region_l1(batch["garment"], worn, region).sum())
            n += len(idx)
        return {"val_region_l1": model_l1 / n, "val_region_l1_copy_agnostic": baseline_l1 / n,
                "val_warp_l1": warp_l1 / n, "val_warp_l1_unwarped": unwarped_l1 / n, "val_pairs": n}

    def validation_grid(self, data: PairData | None = None):
        """Rows of person | garment | warped garment | composition mask | result | ground truth."""
        from components.train.families.gmm_tom.pictures import validation_grid

        data = data or self.val_data or self.data
        idx = pick_per_category(data, self.schedule.validation_per_category)
        self.model.eval()
        batch = data.batch(idx, self.device)
        return validation_grid(batch, self.model.try_on(batch))

    def _log_grid(self) -> None:
        if self.log_image is not None:
            self.log_image(self.validation_grid(), f"train/gmm_tom_validation_step{self.global_step:06d}.png")

    # -- the loop --------------------------------------------------------------------------------------------
    def fit(self, on_step: Callable[[int, str, float], None] | None = None) -> Position:
        """Train from the current position to the end of TOM, checkpointing every `checkpoint_every` steps."""
        pos = self.position
        bar = progress_bar(total=self.total_steps, desc="gmm_tom", unit="step")
        bar.update(self.global_step)
        while True:
            phase = pos.phase
            if pos.step < self.phase_steps(phase):
                self._run_phase(phase, bar, on_step)
                self._log_grid()  # what this phase learned: after GMM the warps, after TOM the try-on
                if phase == PHASES[-1]:
                    self.save_checkpoint()
            nxt = PHASES.index(phase) + 1
            if nxt == len(PHASES):
                break
            pos.phase, pos.step, pos.epoch, pos.batch_in_epoch = PHASES[nxt], 0, 0, 0
            self.save_checkpoint()  # the phase boundary: a resume never repeats a finished phase
        bar.close()
        return pos

    def _run_phase(self, phase: str, bar, on_step: Callable[[int, str, float], None] | None) -> None:
        """Optimizer steps of `phase` from the current position to its end, checkpointing on the way."""
        p, pos = self.schedule, self.position
        step_fn = self.gmm_step if phase == "gmm" else self.tom_step
        timing = self.timing[phase]
        # The position stream and the loader walk the same deterministic batch order in lockstep.
        for (epoch, next_index, _), batch in zip(self._batches(), self._loader()):
            t0 = time.perf_counter()
            terms = step_fn(batch)
            if self.device.type == "cuda":
                torch.cuda.synchronize(self.device)
            timing.seconds += time.perf_counter() - t0
            timing.steps += 1
            pos.step, pos.epoch, pos.batch_in_epoch = pos.step + 1, epoch, next_index
            value = terms["loss"]
            if not math.isfinite(value):
                raise FloatingPointError(f"gmm_tom: {phase} loss became {value} at step {pos.step}")
            step = self.global_step
            pos.history.append([step, phase, value])
            bar.update(1)
            bar.set_postfix(phase=phase, loss=f"{value:.4f}")
            self._report(step, phase, terms, timing)
            if p.validate_every and step % p.validate_every == 0:
                self._log_grid()
            if on_step is not None:
                on_step(step, phase, value)
            if pos.step >= self.phase_steps(phase):
                return
            if step % p.checkpoint_every == 0:
                self.save_checkpoint()

    def _report(self, step: int, phase: str, terms: dict[str, float], timing: PhaseTiming) -> None:
        p = self.schedule
        if step % p.log_every and step != self.total_steps:
            return
        if quiet():
            print(f"gmm_tom step {step}/{self.total_steps} {phase} loss {terms['loss']:.4f} "
                  f"{timing.steps_per_s:.2f} steps/s", file=sys.stderr, flush=True)
        if self.log_metrics is not None:
            metrics = {f"train/{phase}_{k}": v for k, v in terms.items()}
            metrics.update({f"train/{phase}_steps_per_s": timing.steps_per_s,
                            "train/peak_memory_mb": peak_memory_mb(self.device)})
            self.log_metrics(metrics, step)


MIN_GRID_ROWS = 3  # a one-category dataset still shows a few pairs


def pick_per_category(data: PairData, per_category: int, min_rows: int = MIN_GRID_ROWS) -> list[int]:
    """Indices of the first `per_category` pairs of each category, topped up to `min_rows` when there are few."""
    taken: dict[str, int] = {}
    out = []
    for i in range(len(data)):
        cat = data.category(i)
        if taken.get(cat, 0) < per_category:
            taken[cat] = taken.get(cat, 0) + 1
            out.append(i)
    out += [i for i in range(len(data)) if i not in out][: max(0, min_rows - len(out))]
    return sorted(out)


def garment_region(batch: dict[str, torch.Tensor]) -> torch.Tensor:
    """Where the garment is worn; samples whose worn-garment mask is empty fall back to the agnostic mask."""
    worn = (batch["worn_mask"] > 0.5).float()
    empty = worn.sum(dim=(1, 2, 3), keepdim=True) == 0
    return torch.where(empty, (batch["agnostic_mask"] > 0.5).float(), worn)
