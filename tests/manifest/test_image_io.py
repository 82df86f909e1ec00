import numpy as np
import pytest
from PIL import Image

import zlib

from components.manifest.image_io import (
    DecodeLimits,
    decode_image_bytes,
    hamming_distance,
    load_image_bytes,
    perceptual_hash,
    probe_image_bytes,
    to_rgb,
)
from components.errors import Quarantine
from tests.data.images import bomb_png, exif_rotated_jpeg, jpeg_bytes, png_bytes, truncated_jpeg


def _reason(data: bytes, limits: DecodeLimits = DecodeLimits()) -> str:
    with pytest.raises(Quarantine) as exc:
        decode_image_bytes(data, limits)
    return exc.value.reason


def test_zero_byte_file_is_quarantined():
    assert _reason(b"") == "empty file (0 bytes)"


def test_text_served_as_an_image_is_quarantined():
    assert "not an image" in _reason(b"<html><body>Not found</body></html>")


def test_truncated_jpeg_is_quarantined(real_photos):
    assert "truncated or corrupt" in _reason(truncated_jpeg(real_photos["astronaut"]))


def test_decompression_bomb_is_refused_from_its_header_before_decoding():
    assert "decompression bomb" in _reason(bomb_png(), DecodeLimits(max_pixels=10_000_000))


def test_tiny_image_is_quarantined():
    assert "too small" in _reason(png_bytes(Image.new("RGB", (20, 20))), DecodeLimits(min_side=64))


def test_oversized_file_is_quarantined_before_decoding(real_photos):
    data = png_bytes(real_photos["astronaut"])
    assert "file too large" in _reason(data, DecodeLimits(max_bytes=1000))


def test_exif_orientation_is_applied(real_photos):
    upright = real_photos["astronaut"].resize((120, 80))
    stored_sideways = upright.transpose(Image.Transpose.ROTATE_90)  # 80 x 120 on disk
    decoded = decode_image_bytes(exif_rotated_jpeg(stored_sideways, orientation=6), DecodeLimits(min_side=16))
    assert decoded.exif_transposed
    assert decoded.image.size == (120, 80)
    # Orientation 6 means "rotate 90 clockwise to view": the result must match the upright original.
    diff = np.abs(np.asarray(decoded.image, dtype=int) - np.asarray(upright, dtype=int)).mean()
    assert diff < 12


@pytest.mark.parametrize("mode", ["CMYK", "L", "P", "I;16"])
def test_non_rgb_modes_are_converted_to_rgb(real_photos, mode):
    src = real_photos["astronaut"].resize((96, 96))
    img = src.convert(mode) if mode != "I;16" else Image.fromarray((np.asarray(src.convert("L"), dtype=np.uint16) * 256))
    fmt = "JPEG" if mode == "CMYK" else "PNG"
    import io

    buf = io.BytesIO()
    img.save(buf, format=fmt)
    decoded = decode_image_bytes(buf.getvalue(), DecodeLimits(min_side=16))
    assert decoded.image.mode == "RGB"
    assert decoded.original_mode == mode


def test_alpha_is_composited_on_white():
    rgba = Image.new("RGBA", (80, 80), (255, 0, 0, 0))
    rgba.paste((0, 0, 255, 255), (20, 20, 60, 60))
    rgb = to_rgb(rgba)
    assert rgb.getpixel((0, 0)) == (255, 255, 255)
    assert rgb.getpixel((40, 40)) == (0, 0, 255)


def test_perceptual_hash_survives_resize_and_reencode_but_separates_different_photos(real_photos):
    a = real_photos["astronaut"]
    from io import BytesIO

    small = Image.open(BytesIO(jpeg_bytes(a.resize((200, 200))))).convert("RGB")
    assert hamming_distance(perceptual_hash(a), perceptual_hash(small)) <= 6
    assert hamming_distance(perceptual_hash(a), perceptual_hash(real_photos["camera"])) > 16


def test_the_header_probe_gives_the_decoded_checksum_and_upright_size_without_decoding(real_photos):
    sideways = real_photos["astronaut"].resize((120, 80)).transpose(Image.Transpose.ROTATE_90)
    for data in (exif_rotated_jpeg(sideways, orientation=6), png_bytes(real_photos["camera"].resize((90, 70)))):
        limits = DecodeLimits(min_side=16)
        header, decoded = probe_image_bytes(data, limits), decode_image_bytes(data, limits)
        assert (header.sha256, header.width, header.height) == (decoded.sha256, *decoded.image.size)


def test_the_header_probe_refuses_what_the_header_shows_and_leaves_corrupt_pixels_to_the_decoder(real_photos):
    with pytest.raises(Quarantine, match="too small"):
        probe_image_bytes(png_bytes(Image.new("RGB", (20, 90))), DecodeLimits(min_side=64))
    truncated = truncated_jpeg(real_photos["astronaut"])
    assert probe_image_bytes(truncated) is not None
    with pytest.raises(Quarantine, match="truncated or corrupt"):
        load_image_bytes(truncated)


def test_a_png_with_chunks_after_its_pixels_is_left_to_a_full_decode(real_photos):
    data = png_bytes(real_photos["camera"].resize((90, 70)))
    body = b"tEXtComment\x00late"
    chunk = len(body[4:]).to_bytes(4, "big") + body + zlib.crc32(body).to_bytes(4, "big")
    iend = data.rindex(b"IEND") - 4
    assert probe_image_bytes(data[:iend] + chunk + data[iend:]) is None


@pytest.mark.parametrize("mode, size", [("RGB", (192, 256)), ("L", (97, 31)), ("RGB", (1, 1)), ("RGB", (5, 1))])
def test_up_filtered_pngs_decode_to_the_same_pixels_and_are_byte_stable(real_photos, mode, size):
    import io

    from components.manifest.image_io import encode_image

    img = real_photos["astronaut"].resize(size).convert(mode)
    data = encode_image(img, "png", png_compress_level=1, png_zlib_strategy="rle", png_filter="up")
    decoded = Image.open(io.BytesIO(data))
    decoded.load()
    assert decoded.mode == mode and decoded.size == size
    assert np.array_equal(np.asarray(decoded), np.asarray(img))
    assert encode_image(img, "png", png_compress_level=1, png_zlib_strategy="rle", png_filter="up") == data


def test_the_fast_png_setting_is_close_in_size_to_pillows_level_6(real_photos):
    from components.manifest.image_io import encode_image

    img = real_photos["grace_hopper"]
    fast = encode_image(img, "png", png_compress_level=1, png_zlib_strategy="rle", png_filter="up")
    old = encode_image(img, "png", png_compress_level=6)
    assert len(fast) < 1.2 * len(old)
