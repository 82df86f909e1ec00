"""Decode untrusted image files safely and normalise them to RGB; every failure is a quarantine reason.

Used by every way data enters the pipeline (import, scrape), so the same file gets the same verdict.
"""

from __future__ import annotations

import hashlib
import io
import struct
import warnings
import zlib
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


def _open_checked(data: bytes, limits: DecodeLimits) -> Image.Image:
    """`data` opened (header only) after the byte, format and pixel-count checks; Quarantine otherwise."""
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
    return probe


def load_image_bytes(data: bytes, limits: DecodeLimits = DecodeLimits()) -> Image.Image:
    """`data` fully decoded as stored (not yet upright or RGB), after every check but the size; else Quarantine."""
    probe = _open_checked(data, limits)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            probe.load()
    except (OSError, SyntaxError, ValueError, Image.DecompressionBombWarning, Image.DecompressionBombError) as exc:
        raise Quarantine(f"truncated or corrupt image data: {exc}") from None
    return probe


def decode_image_bytes(data: bytes, limits: DecodeLimits = DecodeLimits(), sha256: str | None = None) -> DecodedImage:
    """Decode `data` into an upright RGB image or raise Quarantine with the reason (`sha256`: of `data`, when
    the caller has it already)."""
    probe = load_image_bytes(data, limits)
    fmt, mode = probe.format or "unknown", probe.mode
    transposed = _orientation(probe) not in (None, 1)
    rgb = to_rgb(ImageOps.exif_transpose(probe) if transposed else probe)  # no copy of an upright image
    if min(rgb.size) < limits.min_side:
        raise Quarantine(f"too small ({rgb.width}x{rgb.height}, shortest side < {limits.min_side} px)")
    return DecodedImage(rgb, sha256 or sha256_bytes(data), mode, fmt, transposed)


@dataclass(frozen=True)
class ImageHeader:
    """What a file's header says, without decoding its pixels: checksum, format and upright size."""

    sha256: str
    format: str
    width: int
    height: int


def probe_image_bytes(data: bytes, limits: DecodeLimits = DecodeLimits()) -> ImageHeader | None:
    """The header checks of decode_image_bytes without decoding; Quarantine as it would, None when the
    upright size is unknowable without decoding (a PNG with chunks after its pixels may carry EXIF there).

    Corrupt pixel data passes here: whoever decodes the pixels later must check it (load_image_bytes)."""
    probe = _open_checked(data, limits)
    fmt = probe.format or "unknown"
    if fmt == "PNG" and _png_has_tail_chunks(data):
        return None
    # The header's EXIF (Image.getexif, not the PNG override that decodes the file to look for trailing EXIF).
    try:
        orientation = Image.Image.getexif(probe).get(0x0112)
    except Exception:  # noqa: BLE001 - broken EXIF is treated as absent, as exif_transpose does
        return None
    width, height = probe.size
    if orientation in (5, 6, 7, 8):  # the transposes and 90-degree turns swap the sides
        width, height = height, width
    if min(width, height) < limits.min_side:
        raise Quarantine(f"too small ({width}x{height}, shortest side < {limits.min_side} px)")
    return ImageHeader(sha256_bytes(data), fmt, width, height)


def _png_has_tail_chunks(data: bytes) -> bool:
    """True when a PNG has chunks other than IDAT/IEND after its first IDAT (or a chunk list that does not parse)."""
    pos, seen_idat = 8, False
    while pos + 8 <= len(data):
        length = int.from_bytes(data[pos:pos + 4], "big")
        kind = data[pos + 4:pos + 8]
        if kind == b"IEND":
            return False
        if kind == b"IDAT":
            seen_idat = True
        elif seen_idat:
            return True
        pos += 12 + length
    return True


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


ZLIB_STRATEGIES = {"default": zlib.Z_DEFAULT_STRATEGY, "rle": zlib.Z_RLE}
_PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
_PNG_COLOUR_TYPES = {"L": 0, "RGB": 2}
_PNG_FILTER_UP = 2  # each byte minus the byte above it


def _png_chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)


def png_up_filtered(img: Image.Image, compress_level: int, strategy: str) -> bytes:
    """An 8-bit RGB or greyscale `img` as a PNG whose every row uses the Up filter, in one IDAT chunk.

    Pillow tries all five PNG filters on every row and keeps the best; for photos Up alone compresses within
    a few percent of that, and filtering with one numpy subtraction makes writing several times faster."""
    pixels = np.asarray(img, dtype=np.uint8)
    height, width = pixels.shape[:2]
    rows = pixels.reshape(height, -1)
    raw = np.empty((height, rows.shape[1] + 1), np.uint8)
    raw[:, 0] = _PNG_FILTER_UP
    raw[0, 1:] = rows[0]
    np.subtract(rows[1:], rows[:-1], out=raw[1:, 1:])  # uint8 arithmetic wraps modulo 256, as PNG defines it
    packer = zlib.compressobj(compress_level, zlib.DEFLATED, 15, 8, ZLIB_STRATEGIES[strategy])
    idat = packer.compress(raw.data) + packer.flush()
    header = struct.pack(">IIBBBBB", width, height, 8, _PNG_COLOUR_TYPES[img.mode], 0, 0, 0)
    return _PNG_SIGNATURE + _png_chunk(b"IHDR", header) + _png_chunk(b"IDAT", idat) + _png_chunk(b"IEND", b"")


def encode_image(img: Image.Image, fmt: str = "png", jpeg_quality: int = 95, png_compress_level: int = 6,
                 png_zlib_strategy: str = "default", png_filter: str = "adaptive") -> bytes:
    """`img` as file bytes, deterministically (no timestamps or metadata): the bytes depend only on the pixels,
    the format and its quality or PNG settings (`png_filter`: `adaptive`, Pillow's per-row choice, or `up`)."""
    if fmt in ("jpg", "jpeg"):
        buf = io.BytesIO()
        img.save(buf, format="JPEG", quality=jpeg_quality, optimize=False)
        return buf.getvalue()
    if png_filter == "up" and img.mode in _PNG_COLOUR_TYPES:
        return png_up_filtered(img, png_compress_level, png_zlib_strategy)
    buf = io.BytesIO()
    img.save(buf, format="PNG", optimize=False, compress_level=png_compress_level,
             compress_type=ZLIB_STRATEGIES[png_zlib_strategy])
    return buf.getvalue()


def save_image(img: Image.Image, path: Path, fmt: str = "png", jpeg_quality: int = 95, png_compress_level: int = 6,
               png_zlib_strategy: str = "default", png_filter: str = "adaptive") -> None:
    """Write `img` deterministically (see encode_image), creating parent folders."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(encode_image(img, fmt, jpeg_quality, png_compress_level, png_zlib_strategy, png_filter))
