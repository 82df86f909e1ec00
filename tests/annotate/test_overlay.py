"""The overlay sheet's tiles: the blend and tint rules, pixel for pixel."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
from PIL import Image

from components.annotate.layout import label_palette
from components.annotate.overlay import _MASK_TINT, overlay_row


def test_the_mask_tint_table_is_the_float_rule_for_every_channel_value():
    values = np.arange(256, dtype=np.uint8)[:, None].repeat(3, axis=1)
    rule = (0.4 * values + 0.6 * np.array([255, 0, 128])).astype(np.uint8)
    assert np.array_equal(_MASK_TINT[np.arange(3), values], rule)


def test_an_overlay_row_blends_labelled_pixels_and_tints_masked_ones_by_the_whole_frame_rule(tmp_path):
    rng = np.random.default_rng(7)
    h, w = 48, 32
    person = rng.integers(0, 256, (h, w, 3), dtype=np.uint8)
    labels = rng.integers(0, 20, (h, w), dtype=np.uint8) * (rng.random((h, w)) < 0.3)
    mask = rng.random((h, w)) < 0.25
    Image.fromarray(person).save(tmp_path / "p.png")
    parse = Image.fromarray(labels.astype(np.uint8), mode="P")
    parse.putpalette(label_palette())
    parse.save(tmp_path / "parse.png")
    Image.fromarray(mask.astype(np.uint8) * 255).save(tmp_path / "m.png")
    (tmp_path / "k.json").write_text(json.dumps({"people": []}))
    row = pd.Series({"person_path": "p.png", "keypoints_path": "k.json", "parse_path": "parse.png",
                     "agnostic_mask_path": "m.png"})
    tiles = overlay_row(tmp_path, row)
    colours = np.array(label_palette(), np.uint8).reshape(-1, 3)[labels]
    blend = np.where(labels[..., None] > 0, (0.45 * person + 0.55 * colours).astype(np.uint8), person)
    tint = person.copy()
    tint[mask] = (0.4 * tint[mask] + 0.6 * np.array([255, 0, 128])).astype(np.uint8)
    assert np.array_equal(tiles[:, 2 * w:3 * w], blend)
    assert np.array_equal(tiles[:, 3 * w:], tint)
    assert np.array_equal(tiles[:, :w], person)
