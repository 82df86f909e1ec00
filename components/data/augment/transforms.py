"""albumentations pipelines built from params.yaml: one for the person and its maps, one for the garment
and its cloth mask, one photometric shared by both. Seeded per sample and variant, so runs repeat exactly.
"""

from __future__ import annotations

import hashlib
import json
import sys
import threading
import warnings
from typing import Any

import numpy as np

from components.data.params import AugmentParams, TransformSpec
from components.errors import ConfigError

# Flips are decided for the whole pair (augment.garment_flip, flip_p), never inside one list.
FORBIDDEN = {"HorizontalFlip", "VerticalFlip", "Transpose", "D4", "RandomRotate90", "SquareSymmetry"}
PERSON_MAPS = {"agnostic": "image", "person_mask": "mask", "agnostic_mask": "mask", "parse": "mask",
               "parse_atr": "mask", "densepose": "mask"}


class _WithoutTorch:
    """An import hook that reports torch missing to one thread, while that thread imports albumentations."""

    def __init__(self) -> None:
        self.thread = threading.get_ident()

    def find_spec(self, name: str, path=None, target=None):
        """torch and its submodules are not found from the importing thread; everything else as usual."""
        if (name == "torch" or name.startswith("torch.")) and threading.get_ident() == self.thread:
            raise ModuleNotFoundError(f"{name} is hidden while albumentations loads", name=name)
        return None


def albumentations() -> Any:
    """The albumentations package. Loaded first here, it loads without its PyTorch module: albumentations
    imports torch (about 2 s, more than a small augment run) only for ToTensorV2, which no transform here
    can use, and skips that module when torch is missing. A process that has torch loaded already keeps it."""
    if "albumentations" in sys.modules or "torch" in sys.modules:
        import albumentations as A

        return A
    hide = _WithoutTorch()
    sys.meta_path.insert(0, hide)
    try:
        import albumentations as A
    finally:
        sys.meta_path.remove(hide)
    return A


def variant_seed(seed: int, sample_id: str, variant: int) -> int:
    """A 32-bit seed for one variant of one sample: stable across runs, machines and sample order."""
    return int(hashlib.sha256(f"{seed}:{sample_id}:{variant}".encode()).hexdigest()[:8], 16)


def build(spec: TransformSpec, where: str, geometric: bool) -> Any:
    """The albumentations transform for `spec`; a ConfigError names the params entry when it is unusable."""
    A = albumentations()
    cls = getattr(A, spec.name, None)
    if not (isinstance(cls, type) and issubclass(cls, A.BasicTransform)):
        raise ConfigError(f"augment.{where}: {spec.name!r} is not an albumentations transform")
    if spec.name in FORBIDDEN:
        raise ConfigError(f"augment.{where}: {spec.name} is not allowed here",
                          hint="mirroring is set for whole pairs by augment.garment_flip and augment.flip_p")
    kind = A.DualTransform if geometric else A.ImageOnlyTransform
    if not issubclass(cls, kind):
        raise ConfigError(f"augment.{where}: {spec.name} is not a {'geometric' if geometric else 'colour'} transform",
                          hint="geometric transforms go in person_transforms/garment_transforms, colour ones in photometric")
    try:
        return cls(p=spec.p, **spec.args)
    except Exception as exc:  # noqa: BLE001 - albumentations validates arguments with its own errors
        raise ConfigError(f"augment.{where}: {spec.name}({spec.args}) is invalid: {exc}") from None


def check(params: AugmentParams) -> None:
    """Build every configured transform once, so a bad entry fails before any sample is touched."""
    for where, specs, geometric in (("person_transforms", params.person_transforms, True),
                                    ("garment_transforms", params.garment_transforms, True),
                                    ("photometric", params.photometric, False)):
        for i, spec in enumerate(specs):
            build(spec, f"{where}[{i}]", geometric)


def person_pipeline(params: AugmentParams, flip: bool, seed: int, maps: list[str]) -> Any:
    """Person image + its maps + keypoints, moved together (masks with nearest-neighbour interpolation)."""
    A = albumentations()
    steps = [A.HorizontalFlip(p=1.0)] if flip else []
    steps += [build(s, f"person_transforms[{i}]", True) for i, s in enumerate(params.person_transforms)]
    with warnings.catch_warnings():  # an empty list is legal (photometric-only runs); albumentations warns
        warnings.simplefilter("ignore", UserWarning)
        return A.Compose(steps, keypoint_params=A.KeypointParams(format="xy", remove_invisible=False),
                         additional_targets={m: PERSON_MAPS[m] for m in maps}, seed=seed, save_applied_params=True,
                         mask_interpolation=0)


def garment_pipeline(params: AugmentParams, flip: bool, seed: int) -> Any:
    """Garment image + cloth mask, moved together."""
    A = albumentations()
    steps = [A.HorizontalFlip(p=1.0)] if flip else []
    steps += [build(s, f"garment_transforms[{i}]", True) for i, s in enumerate(params.garment_transforms)]
    return A.Compose(steps, additional_targets={"cloth_mask": "mask"}, seed=seed, save_applied_params=True,
                     mask_interpolation=0)


def photometric_pipeline(params: AugmentParams, seed: int) -> Any:
    """Colour changes applied with the same parameters to person, agnostic image and garment."""
    A = albumentations()
    steps = [build(s, f"photometric[{i}]", False) for i, s in enumerate(params.photometric)]
    return A.Compose(steps, additional_targets={"garment": "image", "agnostic": "image"}, is_check_shapes=False,
                     seed=seed, save_applied_params=True)


def describe(applied: list[tuple[str, dict]]) -> list[dict]:
    """The transforms that fired and their sampled parameters, JSON-ready (for the manifest's augmentation)."""

    def clean(v: Any) -> Any:
        if isinstance(v, np.ndarray):
            return np.round(v.astype(float), 5).tolist()
        if isinstance(v, (np.floating, float)):
            return round(float(v), 5)
        if isinstance(v, (np.integer,)):
            return int(v)
        if isinstance(v, dict):
            return {k: clean(x) for k, x in v.items()}
        if isinstance(v, (list, tuple)):
            return [clean(x) for x in v]
        return v

    skip = {"shape", "bbox_matrix", "output_shape", "interpolation", "mask_interpolation"}
    return [{"name": name, **{k: clean(v) for k, v in p.items() if k not in skip}} for name, p in applied]


def to_json(doc: dict) -> str:
    """Compact, key-sorted JSON."""
    return json.dumps(doc, sort_keys=True, separators=(",", ":"))
