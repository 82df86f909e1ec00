"""The bundled sample data: real photographs of people shipped inside installed packages, plus garment
product images drawn from CC0 textures, with each file's provenance and licence.

Materialising it twice gives byte-identical files (fixed sizes, no metadata, pinned Pillow), so the md5
that data.dvc records for data/raw matches on every machine.
"""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw

SAMPLE_DIR = "sample"
GARMENT_SIZE = (384, 512)  # width, height: the 3:4 portrait of VITON-HD / DressCode


@dataclass(frozen=True)
class PhotoSource:
    """A photograph shipped inside an installed package."""

    key: str
    description: str
    origin: str
    licence: str
    split: str


PEOPLE: tuple[PhotoSource, ...] = (
    PhotoSource("astronaut", "Eileen Collins, NASA portrait", "skimage.data.astronaut (NASA Great Images)",
                "public domain (NASA, no known copyright restrictions)", "train"),
    PhotoSource("camera", "man with a camera on a tripod", "skimage.data.camera (photographer Lav Varshney)",
                "CC0", "train"),
    PhotoSource("grace_hopper", "Grace Hopper, US Navy portrait", "matplotlib sample_data/grace_hopper.jpg",
                "public domain (US Navy photograph)", "test"),
)

# A photograph with no person in it: annotation must quarantine it as "no person", not crash.
NO_PERSON = PhotoSource("chelsea", "a cat", "skimage.data.chelsea (photographer Stefan van der Walt)", "CC0", "train")

# garment name -> (category, texture, polygon in a 384x512 frame)
GARMENTS: dict[str, tuple[str, str, list[tuple[int, int]]]] = {
    "tshirt_brick": ("upper_body", "brick", [
        (130, 70), (160, 60), (192, 90), (224, 60), (254, 70), (340, 130), (305, 190), (270, 165),
        (275, 440), (109, 440), (114, 165), (79, 190), (44, 130)]),
    "trousers_gravel": ("lower_body", "gravel", [
        (112, 40), (272, 40), (292, 470), (212, 470), (192, 160), (172, 470), (92, 470)]),
    "dress_coffee": ("dresses", "coffee", [
        (150, 40), (234, 40), (250, 120), (238, 200), (320, 470), (64, 470), (146, 200), (134, 120)]),
    "skirt_grass": ("lower_body", "grass", [(132, 110), (252, 110), (330, 420), (54, 420)]),
}

PAIRS: tuple[tuple[str, str], ...] = (
    ("astronaut", "tshirt_brick"),
    ("astronaut", "trousers_gravel"),
    ("astronaut", "dress_coffee"),
    ("camera", "tshirt_brick"),
    ("camera", "skirt_grass"),
    ("camera", "dress_coffee"),
    ("grace_hopper", "tshirt_brick"),
    ("grace_hopper", "trousers_gravel"),
    ("grace_hopper", "dress_coffee"),
    ("chelsea", "tshirt_brick"),
)


def _load_photo(key: str) -> Image.Image:
    if key == "grace_hopper":
        import matplotlib.cbook

        with matplotlib.cbook.get_sample_data("grace_hopper.jpg") as fh:
            return Image.open(io.BytesIO(fh.read())).convert("RGB")
    import skimage.data

    arr = getattr(skimage.data, key)()
    return Image.fromarray(np.asarray(arr)).convert("RGB")


def _texture(name: str) -> Image.Image:
    import skimage.data

    arr = np.asarray(getattr(skimage.data, name)())
    img = Image.fromarray(arr).convert("RGB")
    # Tile so the texture covers the whole garment frame, whatever its native size.
    canvas = Image.new("RGB", GARMENT_SIZE)
    for y in range(0, GARMENT_SIZE[1], img.height):
        for x in range(0, GARMENT_SIZE[0], img.width):
            canvas.paste(img, (x, y))
    return canvas


def draw_garment(texture: str, polygon: list[tuple[int, int]]) -> Image.Image:
    """A garment product image: a textured garment silhouette on a white background."""
    mask = Image.new("L", GARMENT_SIZE, 0)
    ImageDraw.Draw(mask).polygon(polygon, fill=255)
    out = Image.new("RGB", GARMENT_SIZE, (255, 255, 255))
    out.paste(_texture(texture), (0, 0), mask)
    ImageDraw.Draw(out).line([*polygon, polygon[0]], fill=(60, 60, 60), width=2)
    return out


def _save_png(img: Image.Image, path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    img.save(path, format="PNG", optimize=False, compress_level=9)


def materialise_sample_data(raw_dir: Path) -> Path:
    """Write the sample (`<raw_dir>/sample/{person,garment}/`, `pairs.csv`, `PROVENANCE.md`); return its folder."""
    root = Path(raw_dir) / SAMPLE_DIR
    photos = {p.key: p for p in (*PEOPLE, NO_PERSON)}
    for key in {person for person, _ in PAIRS}:
        _save_png(_load_photo(key), root / "person" / f"{key}.png")
    for name, (_, texture, polygon) in GARMENTS.items():
        _save_png(draw_garment(texture, polygon), root / "garment" / f"{name}.png")
    with (root / "pairs.csv").open("w", newline="") as fh:
        writer = csv.writer(fh, lineterminator="\n")
        writer.writerow(["person", "garment", "category", "split", "source_url", "licence"])
        for person, garment in PAIRS:
            photo = photos[person]
            writer.writerow([f"person/{person}.png", f"garment/{garment}.png", GARMENTS[garment][0],
                             photo.split, photo.origin, photo.licence])
    lines = ["# Sample data provenance", "",
             "Regenerate with `vton data sample`; the files are byte-identical on every machine.", "",
             "| file | what | origin | licence |", "|---|---|---|---|"]
    for key in sorted({person for person, _ in PAIRS}):
        p = photos[key]
        lines.append(f"| person/{key}.png | {p.description} | {p.origin} | {p.licence} |")
    for name, (category, texture, _) in sorted(GARMENTS.items()):
        lines.append(f"| garment/{name}.png | {category} garment drawn by vton-pipeline | "
                     f"texture skimage.data.{texture} | CC0 |")
    (root / "PROVENANCE.md").write_text("\n".join(lines) + "\n")
    return root
