"""Evaluate's generation on Ray actors: the model loaded once per actor, the pairs sharded, results as a local run.

The driver packs the model directory once (a tar in Ray's object store, fetched once per node) and each shard's
pairs with the bytes of their person, garment and mask photos (no shared filesystem). An actor unpacks the
model into its scratch folder, loads it through the family contract (components/train/families) on its GPU
when it holds one (`evaluate.ray.num_gpus`, fractions allowed), else on CPU as a local run does, and returns
each pair's raw result image. Every pair is generated with the same seed and steps as locally and each call
is seeded on its own, so where a pair runs does not change its result (on the same device and thread count);
scoring stays on the driver, in score_model, untouched.

An actor killed mid-shard is replaced and its shard resubmitted (components/executors/ray_pool.py); a shard
whose actors died past `max_retries` stops the evaluation with an error: a figure is never computed on
fewer pairs than the report says.
"""

from __future__ import annotations

import hashlib
import io
import os
import shutil
import tarfile
from dataclasses import dataclass
from pathlib import Path

from PIL import Image

from components.errors import VtonError
from components.evaluate.pairs import EvalPair
from components.evaluate.params import EvaluateParams
from components.evaluate.scoring import Generator
from components.executors.ray_pool import node_id, on_pool, refuse_mismatch, run_shards, scratch_folder
from components.progress import progress_bar

SCRATCH_PREFIX = "vton-evaluate-"
# The code a result depends on: the families' networks and predictors, the annotators some of them run on the
# person photo, the fit maths a size request is drawn with (the size map's rescaled region, a photo's own fit
# ratios) and the image I/O the annotators decode with.
CODE_PACKAGES = ("train", "annotate", "evaluate", "fit", "manifest")


def code_digest() -> str:
    """sha256 of the Python source that shapes a generated image."""
    root = Path(__file__).resolve().parents[2]
    h = hashlib.sha256()
    for package in CODE_PACKAGES:
        for path in sorted((root / package).rglob("*.py")):
            h.update(path.relative_to(root).as_posix().encode())
            h.update(path.read_bytes())
    return h.hexdigest()


def model_tar(model_dir: Path) -> tuple[bytes, str]:
    """The model directory as tar bytes (file order and metadata fixed) and their sha256."""
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w") as tar:
        for path in sorted(p for p in Path(model_dir).rglob("*") if p.is_file()):
            info = tar.gettarinfo(str(path), arcname=path.relative_to(model_dir).as_posix())
            info.uid = info.gid = 0
            info.uname = info.gname = ""
            info.mtime = 0
            with path.open("rb") as fh:
                tar.addfile(info, fh)
    data = buf.getvalue()
    return data, hashlib.sha256(data).hexdigest()


@dataclass
class ShippedPair:
    """One pair as it travels to a worker: the pair and its three photos' bytes."""

    pair: EvalPair
    person: bytes
    garment: bytes
    mask: bytes


def pack(pairs: list[EvalPair]) -> list[ShippedPair]:
    """The shard's pairs with their photos."""
    return [ShippedPair(p, Path(p.person).read_bytes(), Path(p.garment).read_bytes(),
                        Path(p.agnostic_mask).read_bytes()) for p in pairs]


def _open(data: bytes, mode: str) -> Image.Image:
    """Decoded as score_model decodes the file (`Image.open(path).convert(mode)`)."""
    with Image.open(io.BytesIO(data)) as im:
        return im.convert(mode)


class GeneratorActor:
    """One model process on the cluster: the model unpacked and loaded once, then shard after shard."""

    def __init__(self, model: bytes, model_sha: str, steps: int, seed: int) -> None:
        import ray
        import torch

        from components.evaluate.models import predictor_generator
        from components.train.families import load_predictor

        torch.manual_seed(seed)  # as the evaluate stage (stage.py) seeds the driver before it loads the models
        self.scratch = scratch_folder(SCRATCH_PREFIX)
        model_dir = self.scratch / "model"
        with tarfile.open(fileobj=io.BytesIO(model), mode="r") as tar:
            tar.extractall(model_dir, filter="data")
        self.model_sha = hashlib.sha256(model).hexdigest()
        self.device = "cuda" if ray.get_gpu_ids() else "cpu"
        self.generate = predictor_generator(load_predictor(model_dir, device=self.device), steps, seed)

    def describe(self) -> dict:
        """What this worker generates with: its code, the model it unpacked, its device and node."""
        return {"code": code_digest(), "model": self.model_sha, "device": self.device, "pid": os.getpid(),
                "node": node_id()}

    def run(self, shard: list[ShippedPair]) -> list[tuple[str, Image.Image]]:
        """Each pair's result image as the predictor returned it."""
        return [(item.pair.pair_id, self.generate(item.pair, _open(item.person, "RGB"), _open(item.garment, "RGB"),
                                                  _open(item.mask, "L"))) for item in shard]

    def close(self) -> None:
        """Release the model and delete the scratch folder."""
        self.generate = None
        shutil.rmtree(self.scratch, ignore_errors=True)


class WorkersDied(VtonError):
    """The Ray workers generating some pairs kept dying."""


def generate_on_ray(model_dir: Path, pairs: list[EvalPair], settings: EvaluateParams, label: str = "model"
                    ) -> dict[str, Image.Image]:
    """Every pair's result image (pair_id -> image) from `model_dir`'s model on Ray actors."""
    import ray

    todo = list({p.pair_id: p for p in pairs}.values())
    if not todo:
        return {}
    size = settings.shard_size
    shards = [todo[i:i + size] for i in range(0, len(todo), size)]
    opts = settings.ray
    data, sha = model_tar(model_dir)
    results: dict[str, Image.Image] = {}
    bar = progress_bar(total=len(todo), desc=f"generate {label} on ray", unit="pair")

    def land(i: int, outputs: list[tuple[str, Image.Image]]) -> None:
        results.update(outputs)
        bar.update(len(outputs))

    def give_up(i: int, deaths: int, exc: Exception) -> None:
        raise WorkersDied(f"the Ray workers generating pairs {', '.join(p.pair_id for p in shards[i])} with "
                          f"{model_dir} died {deaths} times ({type(exc).__name__}): nothing was scored",
                          hint="run again, and check the workers' memory (evaluate.ray.num_cpus / num_gpus "
                               "reserve it per actor)")

    def work(pool) -> int:
        return run_shards(len(shards), pool, lambda actor, i: actor.run.remote(pack(shards[i])), land, give_up,
                          opts.max_retries)

    def check(seen: list[dict]) -> None:
        refuse_mismatch("evaluate", seen, {"code": code_digest(), "model": sha}, ("code", "model"))

    def args() -> tuple:
        return (ray.put(data), sha, settings.num_inference_steps, settings.seed)

    try:
        on_pool(GeneratorActor, args, min(opts.actors, len(shards)), opts.num_cpus, opts.num_gpus,
                "evaluate", check, work)
    finally:
        bar.close()
    return results


def ray_generator(model_dir: Path, pairs: list[EvalPair], settings: EvaluateParams, label: str = "model"
                  ) -> Generator:
    """A Generator whose results were generated on Ray for `pairs` (asked for another pair, a clear error)."""
    results = generate_on_ray(model_dir, pairs, settings, label)

    def generate(pair: EvalPair, person: Image.Image, garment: Image.Image, mask: Image.Image) -> Image.Image:
        try:
            return results[pair.pair_id]
        except KeyError:
            raise VtonError(f"pair {pair.pair_id} was not among the pairs generated on Ray",
                            hint="generate on Ray for the pairs that are scored (the evaluate stage does)") from None

    return generate
