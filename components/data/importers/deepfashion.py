"""The DeepFashion In-shop vocabulary of `SaffalPoosh/deepFashion-with-masks`: classes, views and view pairing.

Its rows hold `images` (a person photo), `mask`, `mask_overlay`, `gender`, `pose` (the In-shop view),
`cloth_type` (the In-shop class), `pid` (the item) and `caption`; there is no flat garment image, so the
garment is cut from a photo of the same item (garment_cut.py). Pure functions only: hf.py does the reading.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

# In-shop class -> garment category; classes in AMBIGUOUS_CLASSES are decided by the caption first.
CLASS_CATEGORIES: dict[str, str] = {
    "tees_tanks": "upper_body",
    "graphic_tees": "upper_body",
    "blouses_shirts": "upper_body",
    "shirts_polos": "upper_body",
    "sweaters": "upper_body",
    "sweatshirts_hoodies": "upper_body",
    "cardigans": "upper_body",
    "jackets_coats": "upper_body",
    "jackets_vests": "upper_body",
    "suiting": "upper_body",  # mostly blazers; suit trousers are recognised from the caption
    "shorts": "lower_body",
    "skirts": "lower_body",
    "pants": "lower_body",
    "leggings": "lower_body",
    "denim": "lower_body",  # mostly jeans; denim jackets and shirts are recognised from the caption
    "dresses": "dresses",
    "rompers_jumpsuits": "dresses",
}
AMBIGUOUS_CLASSES = frozenset({"denim", "suiting"})

_UPPER = r"jacket|blazer|coat|shirt|vest|waistcoat|top|blouse|cardigan"
_LOWER = r"jeans|pants|trousers|shorts|skirt|leggings|chinos"
# For an ambiguous class the caption names the item with the class's material or kind next to it
# ("a denim jacket", "suit trousers"); a caption describing the whole outfit names other garments too,
# so the adjacent phrase wins over a bare mention.
_CAPTION_RULES: dict[str, tuple[tuple[str, re.Pattern], ...]] = {
    "denim": (
        ("dresses", re.compile(r"\b(denim|jean)\s+(dress|romper|jumpsuit|overalls?)\b", re.I)),
        ("upper_body", re.compile(rf"\b(denim|jean)\s+({_UPPER})s?\b", re.I)),
        ("lower_body", re.compile(rf"\b(denim|jean)\s+({_LOWER})\b|\bjeans\b", re.I)),
        ("upper_body", re.compile(rf"\b({_UPPER})s?\b[^.]*\bdenim\b", re.I)),
    ),
    "suiting": (
        ("lower_body", re.compile(rf"\b(suit|suiting|tailored)\s+({_LOWER})\b", re.I)),
        ("upper_body", re.compile(rf"\b(suit|suiting|tailored)\s+(jacket|blazer|coat|vest|waistcoat)s?\b|\bblazer\b",
                                  re.I)),
        ("lower_body", re.compile(rf"\b({_LOWER})\b", re.I)),
    ),
}

# In-shop view names, best garment source first: a flat shot shows the whole garment alone, a back view the
# wrong side of it.
VIEW_ORDER: tuple[str, ...] = ("flat", "front", "full", "side", "additional", "back")
VIEWS_WITHOUT_PERSON = frozenset({"flat"})


def class_key(cloth_type: str | None) -> str:
    """An In-shop class name normalised for lookup ('Tees & Tanks', 'tees-tanks' -> 'tees_tanks')."""
    return re.sub(r"[^a-z0-9]+", "_", (cloth_type or "").lower()).strip("_")


def category_for_class(cloth_type: str | None, caption: str | None) -> str | None:
    """The garment category of an In-shop class (the caption decides Denim and Suiting); None: not a known class."""
    key = class_key(cloth_type)
    if key not in CLASS_CATEGORIES:
        return None
    for category, pattern in _CAPTION_RULES.get(key, ()):
        if caption and pattern.search(caption):
            return category
    return CLASS_CATEGORIES[key]


def view_name(pose: str | None) -> str | None:
    """The In-shop view a raw `pose` string names ('01_1_front', 'Front', 'full body' -> front, full), or None."""
    words = re.split(r"[^a-z]+", (pose or "").lower())
    for view in VIEW_ORDER:
        if view in words:
            return view
    return None


def view_rank(pose: str | None) -> int:
    """How good a view is as the garment's source: lower is better, unknown views after every known one."""
    view = view_name(pose)
    return VIEW_ORDER.index(view) if view else len(VIEW_ORDER)


@dataclass(frozen=True)
class View:
    """One row of an item as pairing sees it: its row number, raw view string, category and whether its mask
    gives a usable garment (a row without one can be a person target, never a garment source)."""

    row: int
    pose: str | None
    category: str
    usable_garment: bool = True


def garment_source_for(target: View, views: Sequence[View]) -> View:
    """The view to cut `target`'s garment from: the best other view of the item in the same category with a
    usable garment (the in-shop setting), else `target` itself."""
    candidates = [v for v in views if v.row != target.row and v.category == target.category and v.usable_garment]
    if not candidates:
        return target
    return min(candidates, key=lambda v: (view_rank(v.pose), v.pose or "", v.row))
