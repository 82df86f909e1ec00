"""Training samples from the manifest, aspect-bucketed batches, and the dataset over cached latents.

The batch order is a pure function of (seed, epoch, rank), so a resumed run replays exactly the batches
it had not yet seen: the data position is just (epoch, batch index).
"""

from __future__ import annotations

import math
import random
from dataclasses import dataclass
from pathlib import Path

import torch

from components.errors import DataContractError
from components.manifest.schema import garment_worn, read_manifest, resolve_path
from components.train.canvas import choose_bucket


@dataclass(frozen=True)
class TrainSample:
    """One (garment, person, agnostic mask, category) sample, with its size ratios when the manifest has them."""

    sample_id: str
    person: Path
    garment: Path
    mask: Path
    category: str
    person_size: tuple[int, int]
    ratios: tuple[float, ...] = ()
    # Annotations the baseline families read (components/train/families/representation.py); None when absent.
    keypoints: Path | None = None  # DressCode COCO-18 JSON, else OpenPose BODY_25 JSON
    parse: Path | None = None  # LIP label map PNG
    person_mask: Path | None = None
    cloth_mask: Path | None = None
    agnostic: Path | None = None  # the agnostic-v3.2 image


@dataclass
class SampleSelection:
    """The samples a split yields and how many ok rows could not be used (and why)."""

    samples: list[TrainSample]
    skipped_no_mask: int
    quarantined: int
    skipped_unpaired: int = 0  # ok rows whose person does not wear the garment: no ground truth to learn from


def _ratio(value, default: float) -> float:
    try:
        v = float(value)
    except (TypeError, ValueError):
        return default
    return v if math.isfinite(v) and v > 0 else default


def _optional_path(dataset_dir: Path, value) -> Path | None:
    return resolve_path(dataset_dir, value) if isinstance(value, str) and value else None


def select_samples(
    dataset_dir: Path, split: str = "train", size_columns: list[str] | None = None, default_ratio: float = 1.0
) -> SampleSelection:
    """The split's `ok` rows that have an agnostic mask and whose person wears the garment, as TrainSamples."""
    df = read_manifest(dataset_dir)
    rows = df[df["split"] == split]
    ok = rows[rows["status"] == "ok"]
    worn = ok[ok["pairing"].map(garment_worn).astype(bool)]
    usable = worn[worn["agnostic_mask_path"].notna()]
    samples = []
    for row in usable.itertuples(index=False):
        person = resolve_path(dataset_dir, row.person_path)
        w, h = row.person_width, row.person_height
        if w is None or h is None or (isinstance(w, float) and math.isnan(w)) or (isinstance(h, float) and math.isnan(h)):
            from PIL import Image

            with Image.open(person) as im:
                w, h = im.size
        ratios = tuple(_ratio(getattr(row, c), default_ratio) for c in (size_columns or []))
        samples.append(
            TrainSample(
                sample_id=row.sample_id,
                person=person,
                garment=resolve_path(dataset_dir, row.garment_path),
                mask=resolve_path(dataset_dir, row.agnostic_mask_path),
                category=row.category,
                person_size=(int(w), int(h)),
                ratios=ratios,
                keypoints=_optional_path(dataset_dir, getattr(row, "keypoints_coco18_path", None))
                or _optional_path(dataset_dir, getattr(row, "keypoints_path", None)),
                parse=_optional_path(dataset_dir, getattr(row, "parse_path", None)),
                person_mask=_optional_path(dataset_dir, getattr(row, "person_mask_path", None)),
                cloth_mask=_optional_path(dataset_dir, getattr(row, "cloth_mask_path", None)),
                agnostic=_optional_path(dataset_dir, getattr(row, "agnostic_path", None)),
            )
        )
    return SampleSelection(samples, skipped_no_mask=len(worn) - len(usable),
                           quarantined=int((rows["status"] != "ok").sum()), skipped_unpaired=len(ok) - len(worn))


def require_samples(selection: SampleSelection, dataset_dir: Path, split: str = "train") -> list[TrainSample]:
    """The selection's samples, or a clear error when there is nothing to train on."""
    if not selection.samples:
        raise DataContractError(
            f"{dataset_dir}: no usable {split} samples (status=ok with an agnostic_mask_path); "
            f"{selection.skipped_no_mask} ok rows lack an agnostic mask, {selection.skipped_unpaired} are unpaired "
            f"(the person does not wear the garment), {selection.quarantined} are quarantined",
            hint="run `vton annotate` (and augment) first, or point paths.augmented at an annotated dataset",
        )
    return selection.samples


def bucket_of(sample: TrainSample, buckets: list[tuple[int, int]]) -> tuple[int, int]:
    """The panel size a sample trains at: the bucket nearest its person photo's aspect ratio."""
    return choose_bucket(sample.person_size[0], sample.person_size[1], buckets)


def epoch_batches(
    buckets: list[tuple[int, int]], batch_size: int, seed: int, epoch: int, rank: int = 0, world: int = 1
) -> list[list[int]]:
    """This rank's batches for `epoch`: indices shuffled per epoch, grouped so a batch shares one bucket."""
    rng = random.Random(seed * 1_000_003 + epoch)
    order = list(range(len(buckets)))
    rng.shuffle(order)
    by_bucket: dict[tuple[int, int], list[int]] = {}
    for i in order:
        by_bucket.setdefault(tuple(buckets[i]), []).append(i)
    batches = [
        idx[k : k + batch_size] for _, idx in sorted(by_bucket.items()) for k in range(0, len(idx), batch_size)
    ]
    rng.shuffle(batches)
    if world > 1:
        # Every rank takes the same number of batches so collective ops stay in step.
        usable = len(batches) - len(batches) % world or len(batches)
        batches = batches[:usable][rank::world]
    return batches


def batch_stream(
    buckets: list[tuple[int, int]], batch_size: int, seed: int, epoch: int, start: int, rank: int = 0, world: int = 1
):
    """Endless (epoch, batch index after this batch, batch) from a data position onwards, epoch after epoch."""
    while True:
        batches = epoch_batches(buckets, batch_size, seed, epoch, rank, world)
        for k in range(start, len(batches)):
            yield epoch, k + 1, batches[k]
        epoch, start = epoch + 1, 0


class StreamBatchSampler:
    """A DataLoader batch sampler over `batch_stream` (one loader, and one set of workers, for the whole run)."""

    def __init__(self, stream_args: tuple) -> None:
        self.stream_args = stream_args

    def __iter__(self):
        for _, _, batch in batch_stream(*self.stream_args):
            yield batch


class CachedLatentDataset(torch.utils.data.Dataset):
    """Reads one sample's cached latents (safetensors) plus its category index, size ratios and size map.

    With `in_memory` (single-process loading) each file is read once and kept: a smoke or test set is small,
    and re-reading it every epoch would be pure overhead.
    """

    def __init__(self, files: list[Path], categories: list[int], ratios: list[tuple[float, ...]],
                 in_memory: bool = False, size_maps: list[Path] | None = None) -> None:
        self.files, self.categories, self.ratios = files, categories, ratios
        self.size_maps = size_maps  # one cached canvas size map per sample (size-aware CatVTON-Flux), or None
        self.in_memory = in_memory
        self._kept: dict[int, dict[str, torch.Tensor]] = {}

    def __len__(self) -> int:
        return len(self.files)

    def __getitem__(self, i: int) -> dict[str, torch.Tensor]:
        if i in self._kept:
            return self._kept[i]
        from safetensors.torch import load_file

        item = load_file(str(self.files[i]))
        item["category"] = torch.tensor(self.categories[i])
        item["ratios"] = torch.tensor(self.ratios[i], dtype=torch.float32)
        item["index"] = torch.tensor(i)
        if self.size_maps is not None:
            item["size_map"] = load_file(str(self.size_maps[i]))["size_map"]
        if self.in_memory:
            self._kept[i] = item
        return item


def collate(items: list[dict[str, torch.Tensor]]) -> dict[str, torch.Tensor]:
    """Stack a same-bucket batch."""
    return {k: torch.stack([it[k] for it in items]) for k in items[0]}
