"""The whole-run lookup: a re-run whose inputs, params and code are all unchanged gets its outputs and manifest
back from the augment cache (cache.py) without reading a manifest or decoding a pixel.

It imports no pandas, pyarrow, numpy, PIL or albumentations, so the stage asks it before importing the
augmentation code (run.py): a cached `vton data augment` then costs little more than the CLI's start-up.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from components.data.augment.cache import AugmentCache, code_digest, run_key
from components.data.augment.report import AugmentReport
from components.data.params import AugmentParams
from components.file_digests import FileDigests
from components.fit.params import FitParams
from components.manifest.names import MANIFEST_FILENAME

# Where variants are made, never what they are: not part of a variant's or a run's cache key.
PLACEMENT = ("executor", "shard_size", "ray")


@dataclass
class RunLookup:
    """What the lookup found: the restored run's report, or (report None) what a full run goes on with."""

    cache: AugmentCache
    digests: FileDigests  # the parents' files hashed once, not on every run (by size and mtime)
    code: str  # code_digest(): the code that makes variants
    key: str | None  # the whole run's key; None when the input manifest cannot be read (read_manifest says why)
    report: AugmentReport | None


def look_up_run(in_dir: Path, out_dir: Path, params: AugmentParams, fit: FitParams, cache_dir: Path) -> RunLookup:
    """Restore the finished run these arguments describe into `out_dir` when the cache holds it (report set)."""
    cache, digests, code = AugmentCache(cache_dir), FileDigests(cache_dir), code_digest()
    key = whole_run_key(in_dir, out_dir, params, fit, code, digests)
    done = cache.load_run(key, in_dir, out_dir, digests.sha256) if key else None
    if done is None:
        return RunLookup(cache, digests, code, key, None)
    digests.save()
    return RunLookup(cache, digests, code, key, AugmentReport(**done, cached=done["variants"]))


def whole_run_key(in_dir: Path, out_dir: Path, params: AugmentParams, fit: FitParams, code: str,
                  digests: FileDigests) -> str | None:
    """The whole run's cache key (cache.run_key), or None when the input manifest cannot be read."""
    try:
        manifest = digests.sha256(in_dir / MANIFEST_FILENAME)
    except OSError:
        return None
    prefix = os.path.relpath(in_dir.resolve(), out_dir.resolve())
    return run_key(manifest, Path(prefix).as_posix(), params.model_dump(mode="json", exclude={"cache_dir", *PLACEMENT}),
                   fit.model_dump(mode="json"), code)
