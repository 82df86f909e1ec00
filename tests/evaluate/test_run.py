"""The evaluation end to end on a constructed test split: figures, reports, pictures and MLflow records."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import torch
from PIL import Image

from components.evaluate.networks import FID_FALLBACK, LPIPS_FALLBACK, load_metric_networks
from components.evaluate.pairs import build_pairs
from components.evaluate.params import EvaluateParams
from components.evaluate.run import evaluate_models, log_evaluation, split_sizes_of, write_reports
from components.manifest.schema import write_manifest

COLOURS = {"upper_body": [(200, 30, 30), (30, 30, 200)], "lower_body": [(30, 160, 30), (220, 200, 40)]}
SETTINGS = EvaluateParams(max_pairs_per_category=4, width=48, height=64, kid_subset_size=2,
                          review_pairs_per_category=1, worst_n=1)


def make_dataset(root: Path, width_ratio_step: float = 0.2) -> Path:
    """Two test persons per category: a grey figure wearing a flat-coloured garment inside its agnostic mask."""
    root.mkdir(parents=True, exist_ok=True)
    rows = []
    for category, colours in COLOURS.items():
        for i, colour in enumerate(colours):
            sid = f"{category[:2]}{i}"
            person = np.full((64, 48, 3), 235, np.uint8)
            person[8:60, 12:36] = (120, 110, 100)  # the body
            top, bottom = (14, 36) if category == "upper_body" else (34, 58)
            person[top:bottom, 12:36] = colour
            mask = np.zeros((64, 48), np.uint8)
            mask[top - 2 : bottom + 2, 10:38] = 255
            garment = np.full((64, 48, 3), 255, np.uint8)
            garment[10:54, 8:40] = colour
            for name, arr in (("person", person), ("garment", garment), ("mask", mask)):
                Image.fromarray(arr).save(root / f"{sid}_{name}.png")
            rows.append({
                "sample_id": sid, "person_path": f"{sid}_person.png", "garment_path": f"{sid}_garment.png",
                "agnostic_mask_path": f"{sid}_mask.png", "category": category, "split": "test", "status": "ok",
                "source": "constructed", "licence": "CC0", "torso_length": 30.0,
                "garment_to_body_width_ratio": 1.0 + width_ratio_step * i, "garment_to_body_length_ratio": 1.0,
            })
    write_manifest(pd.DataFrame(rows), root)
    return root


def ground_truth_generator(pair, person, garment, mask):
    """Returns the ground-truth photo itself: a perfect paired result."""
    return person


def paste_generator(pair, person, garment, mask):
    """Naive copy-paste baseline: the garment's mean colour painted over the agnostic mask."""
    g = np.asarray(garment, dtype=np.float64)
    colour = g[(g < 250).any(-1)].mean(0)
    out = np.asarray(person).copy()
    out[np.asarray(mask) > 127] = colour.astype(np.uint8)
    return Image.fromarray(out)


@pytest.fixture(scope="module")
def networks():
    torch.set_num_threads(1)
    return load_metric_networks(lambda name: None)


def test_fallback_networks_are_named_and_uncalibrated(networks):
    assert (networks.fid_extractor, networks.lpips_backbone) == (FID_FALLBACK, LPIPS_FALLBACK)
    assert not networks.calibrated and len(networks.notes) == 2


def test_lpips_backbone_weights_from_the_store_are_loaded_into_the_network(tmp_path):
    import torchvision

    alex = torchvision.models.alexnet(weights=None)
    torch.save(alex.state_dict(), tmp_path / "alexnet.pth")
    nets = load_metric_networks(lambda name: tmp_path / "alexnet.pth" if name.startswith("alexnet") else None)
    assert nets.lpips_backbone == "alexnet-owt-7be5be79" and not nets.calibrated  # FID still on the fallback
    assert torch.equal(nets.lpips.net.slice1[0].weight, alex.features[0].weight)


def test_perfect_results_score_ssim_one_lpips_zero_and_perfect_fit(tmp_path, networks):
    pairs = build_pairs(make_dataset(tmp_path / "data"), 4)
    assert sorted((p.category, p.kind) for p in pairs).count(("upper_body", "unpaired")) == 2
    ev = evaluate_models(pairs, ground_truth_generator, networks, SETTINGS, tmp_path / "out")
    for scope in ("upper_body", "lower_body", "overall"):
        figures = ev.candidate_metrics[scope]
        assert figures["ssim"] == pytest.approx(1.0, abs=1e-4)
        assert figures["psnr"] == pytest.approx(100.0)  # identical images: the documented 100 dB ceiling
        assert figures["lpips"] == pytest.approx(0.0, abs=1e-5)
        assert figures["mask_iou_paired"] == 1.0 and figures["gfd_paired"] == 0.0
        assert figures["fid_paired"] == pytest.approx(0.0, abs=1e-3)
    assert ev.candidate_metrics["overall"]["n_paired"] == 4.0


def test_unpaired_expected_region_is_clipped_to_the_agnostic_mask_like_the_result(tmp_path, networks):
    # Person up1's garment is 1.6x wider (relative to the body) than up0's own: scaled, the expected region
    # reaches past the agnostic mask (columns 10..37), where no result region can ever be found.
    pairs = [p for p in build_pairs(make_dataset(tmp_path / "data", width_ratio_step=0.6), 4)
             if p.pair_id == "unpaired/up0__up1"]

    def fill_the_mask_width(pair, person, garment, mask):
        out = np.asarray(person).copy()
        out[14:36, 10:38] = COLOURS["upper_body"][1]  # the new garment over the mask's full width, own length
        return Image.fromarray(out)

    (score,) = evaluate_models(pairs, fill_the_mask_width, networks, SETTINGS, tmp_path / "out").candidate.scores
    assert score.expected_from_ratios is True
    # The same region up to the despeckling's rounded corners (unclipped, the expected region gave IoU 0.74).
    assert score.mask_iou > 0.97 and score.gfd < 0.005


@pytest.mark.slow
def test_evaluation_writes_reports_and_tags_the_candidate_version(tmp_path, networks, mlflow_uri, monkeypatch):
    import mlflow

    class Echo(mlflow.pyfunc.PythonModel):
        def predict(self, context, model_input, params=None):
            return model_input

    mlflow.set_tracking_uri(mlflow_uri)
    client = mlflow.MlflowClient()
    exp = client.create_experiment("vton-pipeline", artifact_location=(tmp_path / "art").as_uri())
    with mlflow.start_run(experiment_id=exp) as run:
        info = mlflow.pyfunc.log_model(name="tryon_model", python_model=Echo(), pip_requirements=["mlflow"],
                                       registered_model_name="vton-tryon")
    monkeypatch.setenv("VTON_MLFLOW_RUN_ID", run.info.run_id)
    version = str(info.registered_model_version)

    dataset = make_dataset(tmp_path / "data")
    pairs = build_pairs(dataset, 4)
    out = tmp_path / "reports" / "evaluate"
    assert split_sizes_of(dataset) == {"upper_body": 2, "lower_body": 2}
    ev = evaluate_models(pairs, paste_generator, networks, SETTINGS, out, champion=("7", ground_truth_generator),
                         split_sizes=split_sizes_of(dataset))
    metrics = json.loads(write_reports(ev, SETTINGS, out).read_text())
    assert metrics["calibrated"] == 0
    assert set(metrics) == {"calibrated", "upper_body", "lower_body", "overall", "champion"}
    assert metrics["champion"]["overall"]["lpips"] == pytest.approx(0.0, abs=1e-5)
    assert metrics["overall"]["lpips"] > metrics["champion"]["overall"]["lpips"]
    grid = Image.open(out / "images" / "review_grid.png")
    assert grid.size == (5 * 48, 18 + 2 * (64 + 14))  # 5 columns, one row per category
    worst = json.loads((out / "images" / "worst_cases.json").read_text())
    assert {(w["category"], w["figure"]) for w in worst} == {
        (c, f) for c in COLOURS for f in ("lpips", "gfd")}
    assert all(Path(w["person"]).is_file() for w in worst)
    report = (out / "report.md").read_text()
    assert "lpips (uncalibrated)" in report
    # Two of the two test persons per category, but uncalibrated: labelled, with the n they were computed on.
    assert "fid_paired (uncalibrated) (n=2; not comparable to published results)" in report
    assert "n=4 paired / 4 unpaired generated vs 4 real; not comparable to published results " \
           "(uncalibrated feature extractor)" in report
    assert metrics["overall"]["fid_kid_comparable"] == 0 and metrics["overall"]["n_real"] == 4
    assert metrics["overall"]["kid_paired_subsets"] == 36  # C(4,2)^2 distinct subset pairs: fewer than 100
    assert metrics["champion"]["overall"]["psnr"] == pytest.approx(100.0)
    assert 0 < metrics["overall"]["psnr"] < 100 and "| psnr |" in report

    run_id = log_evaluation(ev, out, "vton-tryon", version, "vton-pipeline", tmp_path)
    logged = client.get_run(run_id)
    assert run_id == run.info.run_id
    assert logged.data.tags["vton.eval.calibration"] == "uncalibrated"
    assert logged.data.tags["vton.eval.champion_version"] == "7"
    assert logged.data.tags["vton.eval.champion_calibration"] == "uncalibrated"
    assert "not comparable to published results" in logged.data.tags["vton.eval.fid_kid_comparability"]
    assert "eval.overall.psnr" in logged.data.metrics and "eval.champion.overall.psnr" in logged.data.metrics
    assert "eval.lower_body.gfd_paired" in logged.data.metrics
    assert "eval.champion.overall.lpips" in logged.data.metrics
    tags = client.get_model_version("vton-tryon", version).tags
    assert tags["vton.eval.review_grid"] == f"runs:/{run_id}/evaluate/images/review_grid.png"
    assert tags["vton.eval.calibration"] == "uncalibrated"
    paths = {a.path for a in client.list_artifacts(run_id, "evaluate/images")}
    assert "evaluate/images/review_grid.png" in paths and "evaluate/images/worst_upper_body.png" in paths


def test_standard_weights_placed_by_hand_without_a_pin_stop_evaluate_instead_of_falling_back(tmp_path, monkeypatch):
    from components.evaluate.run import find_weights
    from components.models.store import Catalog, UnverifiedWeights, local_path

    catalog = tmp_path / "catalog.yaml"
    catalog.write_text("models:\n  - name: pt_inception-2015-12-05\n    version: '2015-12-05'\n"
                       "    source: https://example.invalid/weights-inception.pth\n    sha256: unknown-until-pulled\n"
                       "    size: null\n    licence: test\n    used_by: [evaluate_fid_kid]\n")
    monkeypatch.setenv("VTON_MODEL_CATALOG", str(catalog))
    monkeypatch.setenv("VTON_MODEL_CACHE", str(tmp_path / "cache"))
    assert find_weights("pt_inception-2015-12-05") is None  # absent: the named fallback takes over
    target = local_path(Catalog.load(catalog).get("pt_inception-2015-12-05"))
    target.parent.mkdir(parents=True)
    target.write_bytes(b"someone's inception weights")
    with pytest.raises(UnverifiedWeights, match="--trust"):
        find_weights("pt_inception-2015-12-05")
