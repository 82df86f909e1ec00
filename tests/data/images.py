"""Image files for import tests: good ones from real photos, and every kind of broken file."""

from __future__ import annotations

import io
import struct
import zlib
from pathlib import Path

from PIL import Image


def png_bytes(img: Image.Image) -> bytes:
    buf = io.BytesIO()
    img.save(buf, format="PNG")
    return buf.getvalue()


def jpeg_bytes(img: Image.Image, **kwargs) -> bytes:
    buf = io.BytesIO()
    img.save(buf, format="JPEG", quality=90, **kwargs)
    return buf.getvalue()


def bomb_png(width: int = 100_000, height: int = 100_000) -> bytes:
    """A tiny PNG whose header claims width x height pixels (a decompression bomb)."""
    data = png_bytes(Image.new("RGB", (8, 8)))
    ihdr = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    chunk = b"IHDR" + ihdr
    patched = struct.pack(">I", len(ihdr)) + chunk + struct.pack(">I", zlib.crc32(chunk) & 0xFFFFFFFF)
    return data[:8] + patched + data[8 + 4 + 4 + 13 + 4 :]


def truncated_jpeg(img: Image.Image) -> bytes:
    data = jpeg_bytes(img)
    return data[: len(data) // 2]


def exif_rotated_jpeg(img: Image.Image, orientation: int = 6) -> bytes:
    """A JPEG stored sideways with an EXIF orientation tag saying how to turn it upright."""
    exif = Image.Exif()
    exif[0x0112] = orientation
    return jpeg_bytes(img, exif=exif.tobytes())


def write(path: Path, data: bytes) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
    return path


def person(real_photos, size=(192, 256)) -> Image.Image:
    return real_photos["astronaut"].resize(size)


def garment(colour=(200, 30, 30), size=(192, 256)) -> Image.Image:
    img = Image.new("RGB", size, (255, 255, 255))
    img.paste(colour, (40, 40, size[0] - 40, size[1] - 40))
    return img
