"""A content-addressed cache of normalised images, so re-importing unchanged files costs a hash, not a decode.

DVC deletes a stage's outputs before re-running it; this cache lives outside them (`import.cache_dir`),
keyed by the original file's sha256 and the settings that shape the output, so adding 1% new images
re-decodes about 1% of the files. Safe to use from several import threads at once.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import threading
from dataclasses import dataclass
from pathlib import Path

from components.manifest.image_io import DecodedImage, encode_image, perceptual_hash

CACHE_VERSION = 1  # bump when normalisation changes, so old entries are never reused


@dataclass
class NormalisedImage:
    """A decoded, checked image ready to be written into a dataset (from the cache or freshly encoded)."""

    sha256: str
    width: int
    height: int
    phash: str
    cached_file: Path | None = None
    encoded: bytes | None = None  # the file's bytes, when there is no cache to copy from

    def write(self, target: Path) -> None:
        """Write the normalised image to `target` (a byte copy of the cached or encoded file)."""
        target.parent.mkdir(parents=True, exist_ok=True)
        if self.cached_file is not None:
            shutil.copyfile(self.cached_file, target)
        else:
            target.write_bytes(self.encoded)


class NormalisedImageCache:
    """Normalised images under `<directory>/<settings key>/<sha[:2]>/<sha>.<ext>` with a JSON sidecar."""

    def __init__(self, directory: Path | None, settings: dict, fmt: str, jpeg_quality: int,
                 png: tuple[int, str, str] = (1, "rle", "up")) -> None:
        key = {"v": CACHE_VERSION, "fmt": fmt, "q": jpeg_quality, **settings}
        if fmt == "png" and png != (6, "default", "adaptive"):  # the old setting keeps its key and its entries
            key["png"] = list(png)
        digest = hashlib.sha256(json.dumps(key, sort_keys=True).encode()).hexdigest()[:12]
        self.root = Path(directory) / digest if directory else None
        self.encoding = (fmt, jpeg_quality, *png)
        self.hits = 0
        self._lock = threading.Lock()

    def _paths(self, sha: str) -> tuple[Path, Path]:
        base = self.root / sha[:2] / sha
        return base.with_suffix(f".{self.encoding[0]}"), base.with_suffix(".json")

    def lookup(self, sha: str) -> NormalisedImage | None:
        """The cached normalisation of the file with content hash `sha`, or None."""
        if self.root is None:
            return None
        image_path, meta_path = self._paths(sha)
        if not (image_path.is_file() and meta_path.is_file()):
            return None
        meta = json.loads(meta_path.read_text())
        with self._lock:
            self.hits += 1
        return NormalisedImage(sha, meta["width"], meta["height"], meta["phash"], cached_file=image_path)

    def store(self, decoded: DecodedImage) -> NormalisedImage:
        """Encode a freshly decoded image, record it (written atomically) and return it ready to write."""
        img = decoded.image
        data = encode_image(img, *self.encoding)
        result = NormalisedImage(decoded.sha256, img.width, img.height, perceptual_hash(img), encoded=data)
        if self.root is None:
            return result
        image_path, meta_path = self._paths(decoded.sha256)
        image_path.parent.mkdir(parents=True, exist_ok=True)
        # One temporary name per thread: two pairs sharing a garment may store it at the same moment.
        suffix = f".{os.getpid()}-{threading.get_ident()}.tmp"
        tmp = image_path.with_name(image_path.name + suffix)
        tmp.write_bytes(data)
        tmp.replace(image_path)
        meta_tmp = meta_path.with_name(meta_path.name + suffix)
        meta_tmp.write_text(json.dumps({"width": img.width, "height": img.height, "phash": result.phash}))
        meta_tmp.replace(meta_path)
        result.cached_file, result.encoded = image_path, None
        return result
