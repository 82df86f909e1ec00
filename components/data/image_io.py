"""Decode untrusted image files safely and normalise them to RGB; every failure is a quarantine reason.

Used by every way data enters the pipeline (import, scrape), so the same file gets the same verdict.
"""

from __future__ import annotations

import hashlib
import io
import warnings
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PIL import Image, ImageOps, UnidentifiedImageError

from components.errors import Quarantine

# Formats a try-on dataset may contain; anything else (SVG, PDF, HTML served as image/jpeg) is refused.
ALLOWED_FORMATS = frozenset({"JPEG", "PNG", "WEBP", "BMP", "TIFF", "GIF", "MPO"})


@dataclass(frozen=True)
class DecodeLimits:
    """Bounds on what an input file may be before it is decoded."""

    min_side: int = 64
    max_pixels: int = 40_000_000
    max_bytes: int = 50 * 1024 * 1024


@dataclass
class DecodedImage:
    """A checked, EXIF-upright RGB image and the facts about its original file."""

    image: Image.Image
    sha256: str
    original_mode: str
    original_format: str
    exif_transposed: bool


def sha256_bytes(data: bytes) -> str:
    """Hex sha256 of `data`."""
    return hashlib.sha256(data).hexdigest()


def decode_image_bytes(data: bytes, limits: DecodeLimits = DecodeLimits()) -> DecodedImage:
    """Decode `data` into an upright RGB image or raise Quarantine with the reason."""
    if len(data) == 0:
        raise Quarantine("empty file (0 bytes)")
    if len(data) > limits.max_bytes:
        raise Quarantine(f"file too large ({len(data) / 2**20:.1f} MB > {limits.max_bytes / 2**20:.0f} MB)")
    try:
        probe = Image.open(io.BytesIO(data))
    except UnidentifiedImageError:
        raise Quarantine("not an image (unrecognised file type)") from None
    except Exception as exc:  # noqa: BLE001 - any decoder failure is a property of the file
        raise Quarantine(f"unreadable image header: {exc}") from None
    fmt = probe.format or "unknown"
    if fmt not in ALLOWED_FORMATS:
        raise Quarantine(f"unsupported image format {fmt}")
    width, height = probe.size
    # Check the header's size before decoding, so a decompression bomb never allocates its pixels.
    if width * height > limits.max_pixels:
        raise Quarantine(f"decompression bomb or oversized image ({width}x{height} > {limits.max_pixels} pixels)")
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            probe.load()
    except (OSError, SyntaxError, ValueError, Image.DecompressionBombWarning, Image.DecompressionBombError) as exc:
        raise Quarantine(f"truncated or corrupt image data: {exc}") from None
    mode = probe.mode
    transposed = _orientation(probe) not in (None, 1)
    rgb = to_rgb(ImageOps.exif_transpose(probe))
    if min(rgb.size) < limits.min_side:
        raise Quarantine(f"too small ({rgb.width}x{rgb.height}, shortest side < {limits.min_side} px)")
    return DecodedImage(rgb, sha256_bytes(data), mode, fmt, transposed)


def read_image_file(path: Path, limits: DecodeLimits = DecodeLimits()) -> bytes:
    """The bytes of the file at `path`, refused (Quarantine) when missing, unreadable or over the size limit."""
    try:
        size = path.stat().st_size
        if size > limits.max_bytes:
            raise Quarantine(f"file too large ({size / 2**20:.1f} MB > {limits.max_bytes / 2**20:.0f} MB)")
        return path.read_bytes()
    except OSError as exc:
        raise Quarantine(f"file not found or unreadable: {exc.strerror}") from None


def decode_image_file(path: Path, limits: DecodeLimits = DecodeLimits()) -> DecodedImage:
    """Decode the file at `path` (see decode_image_bytes); a missing or unreadable file is quarantined."""
    return decode_image_bytes(read_image_file(path, limits), limits)


def _orientation(img: Image.Image) -> int | None:
    try:
        return img.getexif().get(0x0112)
    except Exception:  # noqa: BLE001 - broken EXIF is treated as absent
        return None


def to_rgb(img: Image.Image) -> Image.Image:
    """`img` as 8-bit RGB: alpha composited on white (product shots), CMYK/greyscale/palette converted."""
    if img.mode in ("RGBA", "LA", "PA") or (img.mode == "P" and "transparency" in img.info):
        rgba = img.convert("RGBA")
        canvas = Image.new("RGBA", rgba.size, (255, 255, 255, 255))
        return Image.alpha_composite(canvas, rgba).convert("RGB")
    if img.mode in ("I;16", "I;16B", "I;16L", "I"):
        arr = np.asarray(img, dtype=np.float64)
        span = max(arr.max() - arr.min(), 1.0)
        img = Image.fromarray(((arr - arr.min()) / span * 255).astype(np.uint8), "L")
    return img.convert("RGB") if img.mode != "RGB" else img


def perceptual_hash(img: Image.Image) -> str:
    """64-bit DCT perceptual hash (hex): robust to resizing and re-encoding, for near-duplicate checks."""
    import imagehash

    return str(imagehash.phash(img))


def hamming_distance(hash_a: str, hash_b: str) -> int:
    """Bits that differ between two hex perceptual hashes."""
    return bin(int(hash_a, 16) ^ int(hash_b, 16)).count("1")


def save_image(img: Image.Image, path: Path, fmt: str = "png", jpeg_quality: int = 95) -> None:
    """Write `img` deterministically (no timestamps or metadata), creating parent folders."""
    path.parent.mkdir(parents=True, exist_ok=True)
    if fmt in ("jpg", "jpeg"):
        img.save(path, format="JPEG", quality=jpeg_quality, optimize=False)
    else:
        img.save(path, format="PNG", optimize=False, compress_level=6)
