"""In-shop classes to categories, view names, and which view a garment is cut from."""

import pytest

from components.data.importers.deepfashion import View, category_for_class, garment_source_for, view_name


@pytest.mark.parametrize("cloth_type, caption, expected", [
    ("Tees_Tanks", None, "upper_body"),
    ("Graphic Tees", "", "upper_body"),
    ("Jackets_Vests", "a vest", "upper_body"),
    ("Leggings", None, "lower_body"),
    ("Rompers_Jumpsuits", None, "dresses"),
    ("Denim", "Her denim jacket has long sleeves. She wears a long skirt.", "upper_body"),
    ("Denim", "The man wears a T-shirt and long denim trousers.", "lower_body"),
    ("Denim", "She wears jeans.", "lower_body"),
    ("Denim", "A denim dress.", "dresses"),
    ("Denim", None, "lower_body"),
    ("Suiting", "He wears a suit jacket and trousers.", "upper_body"),
    ("Suiting", "His tailored trousers are long.", "lower_body"),
    ("Suiting", None, "upper_body"),
])
def test_the_class_decides_the_category_and_the_caption_decides_ambiguous_classes(cloth_type, caption, expected):
    assert category_for_class(cloth_type, caption) == expected


def test_an_unknown_class_has_no_category():
    assert category_for_class("Hats_Caps", "a dress") is None
    assert category_for_class(None, "a dress") is None


@pytest.mark.parametrize("pose, view", [
    ("front", "front"), ("01_1_front", "front"), ("Side", "side"), ("3_back", "back"), ("full body", "full"),
    ("07_7_additional", "additional"), ("flat", "flat"), ("01_9", None), (None, None),
])
def test_view_names_are_read_tolerantly(pose, view):
    assert view_name(pose) == view


def test_the_garment_comes_from_the_best_other_view_with_a_usable_mask():
    views = [View(0, "01_3_back", "upper_body"), View(1, "01_1_front", "upper_body"),
             View(2, "01_2_side", "upper_body"), View(3, "01_6_flat", "upper_body", usable_garment=False)]
    assert garment_source_for(views[0], views).row == 1
    assert garment_source_for(views[1], views).row == 2  # the front view wears the next best view's garment
    assert garment_source_for(views[3], views).row == 1


def test_a_single_view_or_one_without_a_same_category_view_pairs_with_itself():
    alone = View(5, "front", "lower_body")
    assert garment_source_for(alone, [alone]) == alone
    other = View(6, "side", "upper_body")
    assert garment_source_for(alone, [alone, other]) == alone
