"""The contract every annotator backend fulfils (MediaPipe now; OpenPose, SCHP, DensePose in Annotate II).

An annotator is built once per worker process (it loads its model in __init__), then called once per
person image. Its identity (name, version, weights checksum) is part of every cache key, so a new
model version or new weights re-annotate exactly the images they touch.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from typing import ClassVar

import numpy as np

from components.annotate.maps import BodyMaps
from components.errors import Quarantine

# The roles a pipeline of annotators fills, in the order they run (later roles may read earlier maps:
# pose reads the person mask to count people, pose-geometry parsing reads both).
ROLES: tuple[str, ...] = ("person", "pose", "parsing", "densepose")

# Fields of an annotator's params section that say where and in what batches it runs, never what it finds:
# left out of the cache key, so moving a model to another device or batch size keeps its cached maps.
PLACEMENT_FIELDS: frozenset[str] = frozenset({"device", "batch_size", "onnx_threads"})


class Annotator(ABC):
    """One model that turns an RGB person image into some of the BodyMaps fields.

    Subclasses set `name`, `version` and `provides` (the BodyMaps fields they fill), and set
    `weights_sha256` to the checksum of the weights file they loaded (None for models shipped inside
    an installed package, whose version string then names the package version).
    They declare what the engine needs to know about them, so it never asks which backend it runs:
    `settings_fields` (the AnnotateParams sections that change their maps: with `identity`, their part of
    the cache key), `batch_size` (person photos per pass), `preload` (modules a worker pool imports once) and
    `parse_for_category` (how the parse they fill is written for a sample's garment).
    Per-image failures that are properties of the image (no person, several people) raise
    components.errors.Quarantine; anything else is a bug or an environment problem.
    """

    name: ClassVar[str]
    version: ClassVar[str]
    provides: ClassVar[tuple[str, ...]]
    weights: ClassVar[tuple[str, ...]] = ()  # model-store catalog names this annotator loads
    weights_sha256: str | None = None
    settings_fields: ClassVar[tuple[str, ...]] = ()  # AnnotateParams fields whose values change the maps
    preload: ClassVar[tuple[str, ...]] = ()  # heavy modules worth importing once in a forkserver

    def __init__(self, settings: object | None = None) -> None:
        """Load the model; `settings` is the annotate params section (AnnotateParams)."""
        self.settings = settings
        self.calls = 0  # how many images this instance has annotated: tests and the engine's report read it
        if self.weights and self.weights_sha256 is None:
            self.weights_sha256 = self.weights_digest()

    @classmethod
    def weights_digest(cls) -> str | None:
        """sha256 of the catalogued weights (combined when several), without loading the model; None if none."""
        if not cls.weights:
            return None
        from components.models.store import weights_sha256

        shas = [weights_sha256(n) for n in cls.weights]
        if len(shas) == 1:
            return shas[0]
        import hashlib

        return hashlib.sha256("+".join(shas).encode()).hexdigest()

    @classmethod
    def identity(cls) -> str:
        """`name:version@weights` (weights = sha256 prefix or 'none'): this model's part of every cache key."""
        digest = cls.weights_digest()
        return f"{cls.name}:{cls.version}@{digest[:16] if digest else 'none'}"

    @classmethod
    def cache_settings(cls, settings) -> dict:
        """{field: value} of the `settings_fields` of these annotate params, placement fields left out."""
        out = {}
        for name in cls.settings_fields:
            value = getattr(settings, name)
            out[name] = value.model_dump(exclude=PLACEMENT_FIELDS) if hasattr(value, "model_dump") else value
        return out

    @classmethod
    def batch_size(cls, settings) -> int:
        """Person photos this annotator takes per pass with these annotate params: one at a time."""
        return 1

    @classmethod
    def parse_for_category(cls, parse: np.ndarray, category: str) -> np.ndarray:
        """The LIP parse this annotator filled, as a sample of garment `category` writes it: unchanged by default.
        An annotator overriding this shapes rendered files, so its module is part of the render code digest."""
        return parse

    @classmethod
    def shapes_rendering(cls) -> bool:
        """True when this annotator overrides a render hook (`parse_for_category`)."""
        return cls.parse_for_category.__func__ is not Annotator.parse_for_category.__func__

    @abstractmethod
    def annotate(self, image: np.ndarray, prior: BodyMaps) -> BodyMaps:
        """Maps for `image` (RGB uint8 HxWx3: the photo at output scale, without letterbox padding; maps are
        returned in its pixel frame and the engine pads them into the output frame); `prior` holds maps
        from earlier roles in the same frame."""

    def __call__(self, image: np.ndarray, prior: BodyMaps | None = None) -> BodyMaps:
        """Check the input, count the call and run `annotate`."""
        image = self._checked(image)
        self.calls += 1
        return self._stamped(self.annotate(image, prior if prior is not None else BodyMaps()))

    def annotate_many(self, images: list[np.ndarray], priors: list[BodyMaps]) -> list[BodyMaps | Quarantine]:
        """One result per image: its maps, or the Quarantine it raised. Default: `__call__` per image."""
        results: list[BodyMaps | Quarantine] = []
        for image, prior in zip(images, priors):
            try:
                results.append(self(image, prior))
            except Quarantine as q:
                results.append(q)
        return results

    def _checked(self, image: np.ndarray) -> np.ndarray:
        if image.dtype != np.uint8 or image.ndim != 3 or image.shape[2] != 3:
            raise ValueError(f"{self.name}: expected an RGB uint8 HxWx3 array, got {image.dtype} {image.shape}")
        return np.ascontiguousarray(image)

    def _stamped(self, result: BodyMaps) -> BodyMaps:
        for produced in self.provides:
            result.sources.setdefault(produced, self.name)
        return result

    @property
    def key(self) -> str:
        """This instance's identity (see `identity`)."""
        weights = self.weights_sha256[:16] if self.weights_sha256 else "none"
        return f"{self.name}:{self.version}@{weights}"

    def close(self) -> None:
        """Release the model (file handles, graphs); default: nothing to release."""


class BatchedAnnotator(Annotator):
    """An annotator whose network takes a batch of images per forward pass (the PyTorch/ONNX research models).

    Subclasses implement `annotate_batch` (per image: maps, or a Quarantine instance, never raised), chunking
    by their params' batch_size, and name that params section in `params_field`; on CUDA the engine hands them
    that many photos at once (engine_batch_size).
    """

    params_field: ClassVar[str]  # the AnnotateParams section holding this model's device and batch_size

    @classmethod
    def batch_size(cls, settings) -> int:
        """The section's batch_size when the model may run on CUDA and a GPU is visible, else 1 (on CPU the
        worker pool parallelises instead). Decided from the params: a cached shard never loads a model to ask."""
        section = getattr(settings, cls.params_field)
        if section.device == "cpu":
            return 1
        import torch

        return section.batch_size if torch.cuda.is_available() else 1

    @abstractmethod
    def annotate_batch(self, images: list[np.ndarray]) -> list[BodyMaps | Quarantine]:
        """Maps (or the reason to quarantine) for each of `images`, batched `params.batch_size` per pass."""

    def annotate(self, image: np.ndarray, prior: BodyMaps) -> BodyMaps:
        """Maps for one image; raises its Quarantine."""
        (result,) = self.annotate_batch([image])
        if isinstance(result, Quarantine):
            raise result
        return result

    def annotate_many(self, images: list[np.ndarray], priors: list[BodyMaps]) -> list[BodyMaps | Quarantine]:
        """One batched pass over all `images` (these networks read no earlier maps)."""
        checked = [self._checked(im) for im in images]
        self.calls += len(checked)
        return [r if isinstance(r, Quarantine) else self._stamped(r) for r in self.annotate_batch(checked)]
