"""Size accuracy: the fit label of a generated garment against the requested one, and a size-aware model beating
its size-blind twin on constructed data where only the requested size says how wide the garment is worn."""

from __future__ import annotations

import math

import numpy as np
import pytest
from PIL import Image

from components.evaluate.garment_region import colour_centres, garment_pixels, garment_region
from components.evaluate.size_accuracy import measure_fit, requested_label, scaled_keypoints, size_accuracy
from components.fit.labels import FIT_LABELS, representative_ratios
from tests.evaluate.constructed_fit import (
    FRAME,
    WIDTHS,
    agnostic_mask,
    body25,
    build_sized_dataset,
    thresholds,
    worn_region,
)

THRESHOLDS = thresholds()


def test_size_accuracy_is_the_share_of_requested_labels_met_and_an_unmeasured_result_is_a_miss():
    assert size_accuracy(["loose", "tight", None, "fitted"], ["loose", "fitted", "tight", None]) == (1 / 3, 3)
    value, n = size_accuracy([None, None], ["loose", "tight"])
    assert math.isnan(value) and n == 0


@pytest.mark.parametrize("fit", list(WIDTHS))
def test_a_drawn_garment_region_is_measured_with_the_label_it_was_drawn_with(fit):
    kp = body25()
    assert measure_fit("upper_body", worn_region(fit), kp, THRESHOLDS).label == fit
    # At another size (keypoints rescaled like the image) the label is the same: the ratios are scale-free.
    small = np.asarray(Image.fromarray(worn_region(fit)).resize((48, 64), Image.NEAREST))
    assert measure_fit("upper_body", small, scaled_keypoints_of(kp, (48, 64)), THRESHOLDS).label == fit
    assert measure_fit("upper_body", worn_region(fit), None, THRESHOLDS).label is None


def scaled_keypoints_of(kp: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    out = kp.astype(np.float64).copy()
    out[:, 0] = (out[:, 0] + 0.5) * size[0] / FRAME[0] - 0.5
    out[:, 1] = (out[:, 1] + 0.5) * size[1] / FRAME[1] - 0.5
    return out


def test_keypoints_are_read_from_the_openpose_file_and_rescaled_to_the_evaluation_size(tmp_path):
    from components.annotate.keypoints import openpose_json, write_json

    write_json(openpose_json(body25()), tmp_path / "kp.json")
    kp = scaled_keypoints(tmp_path / "kp.json", FRAME, (48, 64))
    assert kp == pytest.approx(scaled_keypoints_of(body25(), (48, 64)), abs=1e-3)
    assert scaled_keypoints(tmp_path / "absent.json", FRAME, (48, 64)) is None


def test_the_requested_label_of_a_labels_representative_ratios_is_that_label():
    for label in FIT_LABELS:
        assert requested_label("upper_body", representative_ratios("upper_body", label, THRESHOLDS).as_tuple(),
                               THRESHOLDS) == label
    assert requested_label("upper_body", None, THRESHOLDS) is None
    assert requested_label("upper_body", (math.nan, 1.0, 1.0), THRESHOLDS) is None


# -- the size-aware model against its size-blind twin --------------------------------------------------------------
TINY_GAN = {"base_channels": 8, "bottleneck_channels": 32, "res_blocks": 2, "disc_channels": 8, "width": 48,
            "height": 64, "perceptual": {"enabled": False}, "lr_g": 2e-3, "adversarial_weight": 0.0,
            "feature_matching_weight": 0.0}
STEPS = 400
BATCH = 4


def _train(tmp_path, dataset, size_conditioning: bool, steps: int | None = None):
    """A tiny unet_gan trained (L1 only) on the constructed pairs through the family's own entry point."""
    from components.train.data import select_samples
    from components.train.families.base import FamilyContext
    from components.train.families.unet_gan.family import FAMILY
    from tests.train.families.conftest import family_params

    steps = steps or STEPS
    params = family_params(tmp_path, "unet_gan", unet_gan=TINY_GAN, max_steps=steps, batch_size=BATCH,
                           checkpoint_every=steps, size_conditioning=size_conditioning,
                           tracking={"log_every": 1000, "validate_every": 0})
    cols = list(params.size_conditioning.columns)
    samples = select_samples(dataset, "train", cols, math.nan).samples
    ctx = FamilyContext(params=params, samples=samples, val_samples=[], checkpoint_dir=tmp_path / "ckpt",
                        model_dir=tmp_path / "model", reports_dir=tmp_path / "reports", seed=0, fit=THRESHOLDS)
    FAMILY.train(ctx)
    return ctx.model_dir, samples


def _size_accuracy_of(model_dir, samples) -> tuple[float, list[tuple[str, str, str | None]]]:
    """Every training person asked for every fit: the share of results measured with the requested label."""
    from components.train.families import load_predictor
    from components.train.families.representation import load_sample_inputs, tensor_image

    predictor = load_predictor(model_dir)
    size = predictor.size
    items, requests, asked = [], [], []
    for sample in samples:
        inputs = load_sample_inputs(sample, size)
        for label in FIT_LABELS:
            items.append(inputs)
            requests.append(representative_ratios("upper_body", label, THRESHOLDS).as_tuple())
            asked.append((sample, label))
    out = predictor.predict_inputs(items, requests)
    kp = scaled_keypoints_of(body25(), size)
    mask = agnostic_mask().resize(size, Image.NEAREST)
    got, rows = [], []
    for (sample, label), image in zip(asked, out):
        with Image.open(sample.garment) as g, Image.open(sample.cloth_mask) as c:
            centres = colour_centres(garment_pixels(g.convert("RGB"), c.convert("L")))
        region = garment_region(tensor_image(image), mask, centres)
        measured = measure_fit("upper_body", region, kp, THRESHOLDS).label
        got.append(measured)
        rows.append((sample.sample_id[:6], label, measured))
    accuracy, n = size_accuracy([label for _, label in asked], got)
    assert n == len(asked)
    return accuracy, rows


def test_the_size_aware_model_beats_its_size_blind_twin_on_size_accuracy(tmp_path):
    dataset = build_sized_dataset(tmp_path / "sized")
    aware_dir, samples = _train(tmp_path / "aware", dataset, size_conditioning=True)
    blind_dir, _ = _train(tmp_path / "blind", dataset, size_conditioning=False)
    aware, aware_rows = _size_accuracy_of(aware_dir, samples)
    blind, blind_rows = _size_accuracy_of(blind_dir, samples)
    print(f"size accuracy over {len(aware_rows)} requests: size-aware {aware:.3f}, size-blind {blind:.3f}")
    assert aware >= 0.8, aware_rows
    assert aware >= blind + 0.3, (aware, blind, blind_rows)


# -- through the evaluation ----------------------------------------------------------------------------------------
def _drawn(pair, fit: str) -> Image.Image:
    """The constructed person of `pair` (colour from its file name) wearing that colour in `fit`."""
    from tests.evaluate.constructed_fit import COLOURS, person_photo

    colour = COLOURS[pair.garment.name.split("_")[0]]
    return person_photo(colour, fit)[0]


def test_evaluate_reports_size_accuracy_per_category_from_the_generated_fit_against_the_requested_one(tmp_path):
    from components.evaluate.networks import load_metric_networks
    from components.evaluate.pairs import build_pairs
    from components.evaluate.params import EvaluateParams
    from components.evaluate.run import evaluate_models, metrics_document, report_markdown

    dataset = build_sized_dataset(tmp_path / "test", split="test")
    pairs = build_pairs(dataset, max_per_category=12)
    assert {p.kind for p in pairs} == {"paired", "unpaired"} and all(p.requested_ratios for p in pairs)
    settings = EvaluateParams(max_pairs_per_category=12, width=96, height=128, kid_subset_size=2,
                              review_pairs_per_category=1, worst_n=1)
    networks = load_metric_networks(lambda name: None)
    requested = {}

    def oracle(pair, person, garment, mask):  # draws the garment in the fit the pair asks for
        label = requested_label(pair.category, pair.requested_ratios, THRESHOLDS)
        requested[pair.pair_id] = label
        return _drawn(pair, label)

    ev = evaluate_models(pairs, oracle, networks, settings, tmp_path / "oracle", fit_thresholds=THRESHOLDS)
    upper = ev.candidate_metrics["upper_body"]
    assert upper["size_accuracy"] == 1.0 and upper["n_size"] == len(pairs)
    assert metrics_document(ev)["overall"]["size_accuracy"] == 1.0 and "| size_accuracy |" in report_markdown(ev)
    # Paired pairs ask for the fit their ground truth shows; unpaired ones the fit of their garment's own photo.
    by_id = {s.pair_id: s for s in ev.candidate.scores}
    for pair in pairs:
        own = pair.person.stem.split("_")[1] if pair.kind == "paired" else pair.garment.stem.split("_")[1]
        assert by_id[pair.pair_id].requested_fit == own == requested[pair.pair_id]

    def always_fitted(pair, person, garment, mask):  # a size-blind stand-in: one fit whatever is asked
        return _drawn(pair, "fitted")

    blind = evaluate_models(pairs, always_fitted, networks, settings, tmp_path / "blind", fit_thresholds=THRESHOLDS)
    share = sum(s.requested_fit == "fitted" for s in blind.candidate.scores) / len(pairs)
    assert blind.candidate_metrics["upper_body"]["size_accuracy"] == pytest.approx(share) and share < 0.5


def test_the_evaluate_command_prints_size_accuracy_per_category_with_its_counts():
    from components.evaluate.stage import size_accuracy_line

    line = size_accuracy_line({"upper_body": {"size_accuracy": 0.75, "n_size": 8.0},
                               "dresses": {"size_accuracy": float("nan"), "n_size": 0.0},
                               "overall": {"size_accuracy": 0.75, "n_size": 8.0}})
    assert line.startswith("upper_body 0.75 (n=8), dresses n/a (n=0), overall 0.75 (n=8)")
