"""The VITON-HD directory layout the annotate stage writes (plus the DressCode-style extras), one place.

    <out>/manifest.parquet
    <out>/<split>/image/<id>.jpg                 person, letterboxed to annotate.width x height
    <out>/<split>/cloth/<id>.jpg                 garment, same frame
    <out>/<split>/cloth-mask/<id>.png            0/255
    <out>/<split>/image-parse-v3/<id>.png        LIP ids, palette PNG (pose_geometry or SCHP)
    <out>/<split>/image-parse-atr/<id>.png       ATR ids (SCHP only)
    <out>/<split>/openpose_json/<id>_keypoints.json   OpenPose BODY_25
    <out>/<split>/openpose_img/<id>_rendered.png
    <out>/<split>/keypoints/<id>.json            DressCode COCO-18
    <out>/<split>/person-mask/<id>.png           0/255
    <out>/<split>/agnostic-mask/<id>_mask.png    0/255
    <out>/<split>/agnostic-v3.2/<id>.jpg         person with the mask filled grey
    <out>/<split>/image-densepose/<id>.png       DensePose IUV (when a DensePose annotator ran)
    <out>/<split>_pairs.txt                      "<person file> <cloth file>" per ok sample

Colour photos (image, cloth, agnostic-v3.2) are JPEG at quality 95, as VITON-HD ships them (encoding is
deterministic: the same pixels give the same bytes); label maps, masks and renders are PNG (lossless: pixel
values are ids). `vton export` writes the exact file names other trainers expect.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
from PIL import Image

from components.annotate.layout_paths import LAYOUT_DIRS, PATHS, path_for, prune_unreferenced  # noqa: F401
from components.file_store import write_atomically

LAYOUT_VERSION = "2"  # 2: colour photos as JPEG


def label_palette(n: int = 256) -> list[int]:
    """The PASCAL-VOC bit-interleaved palette SCHP and VITON-HD parse PNGs use (flat RGB list)."""
    palette = []
    for label in range(n):
        r = g = b = 0
        c = label
        for shift in range(8):
            r |= ((c >> 0) & 1) << (7 - shift)
            g |= ((c >> 1) & 1) << (7 - shift)
            b |= ((c >> 2) & 1) << (7 - shift)
            c >>= 3
        palette += [r, g, b]
    return palette


_LABEL_PALETTE = bytes(label_palette())  # built once: ~0.5 ms a call, once per parse written


def fresh_file(path: Path) -> Path:
    """`path` ready to be written as a new file: its folder made, and an old file there unlinked.

    An old output may be a hard link into a content-addressed cache (components/file_store.py); writing
    through it would edit the cached copy too, so a new inode is written instead."""
    if not path.parent.is_dir():  # one stat; mkdir(exist_ok) costs a failing mkdir, an exception and a stat
        path.parent.mkdir(parents=True, exist_ok=True)
    path.unlink(missing_ok=True)
    return path


def save_png(array: np.ndarray, path: Path) -> None:
    """Write an RGB or L array as PNG (no metadata, fixed fast compression)."""
    fresh_file(path)
    Image.fromarray(array).save(path, format="PNG", optimize=False, compress_level=1)  # fast; still lossless


def save_jpeg(array: np.ndarray, path: Path) -> None:
    """Write an RGB array as JPEG quality 95 without chroma subsampling (the layout's colour photos)."""
    fresh_file(path)
    Image.fromarray(array).save(path, format="JPEG", quality=95, subsampling=0)


def save_image(array: np.ndarray, path: Path) -> None:
    """Write an RGB or L array in the format its file name says (.jpg/.jpeg: JPEG 95, else PNG)."""
    if path.suffix.lower() in (".jpg", ".jpeg"):
        save_jpeg(array, path)
    else:
        save_png(array, path)


def save_mask(mask: np.ndarray, path: Path) -> None:
    """Write a bool mask as a 0/255 greyscale PNG."""
    # 0/1 bytes times 255: the same pixels as np.where(mask, 255, 0), without the int64 temporary (~80x faster).
    save_png(np.asarray(mask, dtype=bool).view(np.uint8) * np.uint8(255), path)


def save_labels(labels: np.ndarray, path: Path) -> None:
    """Write a label map as a palette PNG (pixel values are the label ids)."""
    fresh_file(path)
    img = Image.fromarray(np.asarray(labels, dtype=np.uint8), mode="P")  # astype would copy a uint8 map
    img.putpalette(_LABEL_PALETTE)
    img.save(path, format="PNG", optimize=False, compress_level=1)


def _densepose_colours(parts: np.ndarray) -> np.ndarray:
    """The `image-densepose` rule itself, pixel by pixel: part id through the Parula colour map at alpha 0.7
    on black, RGB. Every step reads one pixel only, so it is applied once to the 256 possible ids."""
    import cv2

    scaled = (parts.astype(np.float32) * (255.0 / 24)).clip(0, 255).astype(np.uint8)
    colour_bgr = cv2.applyColorMap(scaled, cv2.COLORMAP_PARULA)
    out = (colour_bgr.astype(np.float64) * 0.7).astype(np.uint8)
    out[parts == 0] = 0
    return np.ascontiguousarray(out[:, :, ::-1])


_DENSEPOSE_TABLE: np.ndarray | None = None


def render_densepose(parts: np.ndarray) -> np.ndarray:
    """`image-densepose` as IDM-VTON feeds it: the I map through the Parula colour map at alpha 0.7 on black, RGB.

    A 256-entry table of the rule's colours indexed by the part ids: the same pixels as applying the rule to
    the whole map (float64 copies of an HxWx3 image), ~10x faster."""
    import cv2

    global _DENSEPOSE_TABLE
    if parts.dtype != np.uint8:
        return _densepose_colours(parts)
    if _DENSEPOSE_TABLE is None:
        _DENSEPOSE_TABLE = _densepose_colours(np.arange(256, dtype=np.uint8)[None, :])[0]
    ids = np.ascontiguousarray(parts)
    return cv2.merge([cv2.LUT(ids, np.ascontiguousarray(_DENSEPOSE_TABLE[:, c])) for c in range(3)])


def densepose_image(parts: np.ndarray, uv: np.ndarray | None) -> np.ndarray:
    """An IUV image (R = part id 0-24, G/B = U/V x 255), as detectron2's DensePose dumps them."""
    out = np.zeros((*parts.shape, 3), np.uint8)
    out[..., 0] = parts
    if uv is not None:
        out[..., 1] = np.clip(uv[0] * 255, 0, 255).astype(np.uint8)
        out[..., 2] = np.clip(uv[1] * 255, 0, 255).astype(np.uint8)
    return out


def write_pairs(df, out_dir: Path) -> None:
    """<split>_pairs.txt: the person and cloth file names of every ok sample, as VITON-HD lists them."""
    for split in ("train", "test"):
        rows = df[(df["status"] == "ok") & (df["split"] == split)]
        lines = [f"{Path(p).name} {Path(g).name}" for p, g in zip(rows["person_path"], rows["garment_path"])]
        # A new file, never written through: the last run's list may be a link into the annotate cache's store.
        write_atomically(out_dir / f"{split}_pairs.txt", "".join(line + "\n" for line in sorted(lines)).encode())
