"""A content-addressed cache of normalised images, so re-importing unchanged files costs a hash, not a decode.

DVC deletes a stage's outputs before re-running it; this cache lives outside them (`import.cache_dir`),
keyed by the original file's sha256 and the settings that shape the output, so adding 1% new images
re-decodes about 1% of the files.
"""

from __future__ import annotations

import json
import shutil
from dataclasses import dataclass
from pathlib import Path

from PIL import Image

from components.data.image_io import DecodedImage, perceptual_hash, save_image

CACHE_VERSION = 1  # bump when normalisation changes, so old entries are never reused


@dataclass
class NormalisedImage:
    """A decoded, checked image ready to be written into a dataset (from the cache or freshly decoded)."""

    sha256: str
    width: int
    height: int
    phash: str
    cached_file: Path | None = None
    image: Image.Image | None = None
    encoding: tuple[str, int, int] = ("png", 95, 1)  # format, JPEG quality, PNG compress level

    def write(self, target: Path) -> None:
        """Write the normalised image to `target` (a byte copy when it came from the cache)."""
        target.parent.mkdir(parents=True, exist_ok=True)
        if self.cached_file is not None:
            shutil.copyfile(self.cached_file, target)
        else:
            save_image(self.image, target, *self.encoding)


class NormalisedImageCache:
    """Normalised images under `<directory>/<settings key>/<sha[:2]>/<sha>.<ext>` with a JSON sidecar."""

    def __init__(self, directory: Path | None, settings: dict, fmt: str, jpeg_quality: int,
                 png_compress_level: int = 1) -> None:
        key = {"v": CACHE_VERSION, "fmt": fmt, "q": jpeg_quality, **settings}
        if fmt == "png":
            key["zlib"] = png_compress_level
        import hashlib

        digest = hashlib.sha256(json.dumps(key, sort_keys=True).encode()).hexdigest()[:12]
        self.root = Path(directory) / digest if directory else None
        self.fmt, self.jpeg_quality = fmt, jpeg_quality
        self.encoding = (fmt, jpeg_quality, png_compress_level)
        self.hits = 0

    def _paths(self, sha: str) -> tuple[Path, Path]:
        base = self.root / sha[:2] / sha
        return base.with_suffix(f".{self.fmt}"), base.with_suffix(".json")

    def lookup(self, sha: str) -> NormalisedImage | None:
        """The cached normalisation of the file with content hash `sha`, or None."""
        if self.root is None:
            return None
        image_path, meta_path = self._paths(sha)
        if not (image_path.is_file() and meta_path.is_file()):
            return None
        meta = json.loads(meta_path.read_text())
        self.hits += 1
        return NormalisedImage(sha, meta["width"], meta["height"], meta["phash"], cached_file=image_path,
                               encoding=self.encoding)

    def store(self, decoded: DecodedImage) -> NormalisedImage:
        """Record a freshly decoded image (written atomically) and return it ready to write."""
        img = decoded.image
        result = NormalisedImage(decoded.sha256, img.width, img.height, perceptual_hash(img), image=img,
                                 encoding=self.encoding)
        if self.root is None:
            return result
        image_path, meta_path = self._paths(decoded.sha256)
        tmp = image_path.with_name(image_path.name + ".tmp")
        save_image(img, tmp, *self.encoding)
        tmp.replace(image_path)
        meta_path.write_text(json.dumps({"width": img.width, "height": img.height, "phash": result.phash}))
        result.cached_file, result.image = image_path, None
        return result
