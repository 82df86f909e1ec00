"""Evaluation for `vton evaluate` (the stage itself: stage.py): score the candidate (and the champion, on the same
pairs), write reports, log to MLflow.

Outputs under reports/evaluate/:
  metrics.json      DVC metrics: the candidate's figures per scope, the champion's under `champion`
  evaluation.json   details: extractors, calibration, champion version, every pair's figures
  report.md         the figures as tables (feature-based ones marked `uncalibrated` when they are)
  images/           review_grid.png, worst_<category>.png, worst_cases.json, results/<model>/<pair>.png
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass, field
from pathlib import Path

from PIL import Image

from components.tracking.contract import Metric, Tag
from components.evaluate.metrics_spec import (
    FEATURE_BASED,
    GREATER_IS_BETTER,
    SET_LEVEL,
    TAG_CALIBRATION,
    TAG_CHAMPION_CALIBRATION,
    TAG_FID_KID_COMPARABILITY,
    fid_kid_comparability,
    metric_key,
)
from components.evaluate.networks import MetricNetworks
from components.evaluate.pairs import EvalPair
from components.evaluate.params import EvaluateParams
from components.evaluate.pictures import REVIEW_COLUMNS, GridRow, picture_grid, review_selection, worst_pairs
from components.evaluate.scoring import OVERALL, Generator, ScoredSet, load_rgb, score_model, scope_metrics

WORST_FIGURES = ("lpips", "gfd")


@dataclass
class Evaluation:
    """The outcome of one evaluation: figures per scope for the candidate and (optionally) the champion."""

    pairs: list[EvalPair]
    candidate: ScoredSet
    candidate_metrics: dict[str, dict[str, float]]
    networks: MetricNetworks
    champion_version: str | None = None
    champion: ScoredSet | None = None
    champion_metrics: dict[str, dict[str, float]] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)
    split_sizes: dict[str, int] | None = None  # category -> usable persons in the whole test split

    @property
    def calibration(self) -> str:
        """`calibrated` or `uncalibrated` (a fallback feature extractor was used)."""
        return "calibrated" if self.networks.calibrated else "uncalibrated"

    def comparability(self, scope: str = OVERALL) -> tuple[bool, str]:
        """Whether the candidate's FID/KID in `scope` may be set beside published figures, and why (with n)."""
        return fid_kid_comparability(self.candidate_metrics.get(scope, {}), self.networks.calibrated)


def evaluate_models(
    pairs: list[EvalPair],
    candidate: Generator,
    networks: MetricNetworks,
    settings: EvaluateParams,
    out_dir: Path,
    champion: tuple[str, Generator] | None = None,
    split_sizes: dict[str, int] | None = None,
    fit_thresholds=None,
) -> Evaluation:
    """Generate and score every pair with the candidate and, when given, the champion (same pairs, same networks).

    `split_sizes` (category -> usable persons in the whole test split) says whether FID/KID saw the full split;
    `fit_thresholds` (params `fit`) label the requested and generated fits for size accuracy.
    """
    size = (settings.width, settings.height)
    results = out_dir / "images" / "results"
    cand = score_model(pairs, candidate, networks, size, results / "candidate", settings.colour_tolerance, "candidate",
                       fit_thresholds)
    evaluation = Evaluation(pairs, cand, scope_metrics(cand, networks, settings.kid_subset_size, split_sizes),
                            networks, split_sizes=split_sizes)
    evaluation.notes += networks.notes
    if champion is not None:
        version, generate = champion
        champ = score_model(
            pairs, generate, networks, size, results / "champion", settings.colour_tolerance, "champion",
            fit_thresholds,
        )
        evaluation.champion_version = version
        evaluation.champion = champ
        evaluation.champion_metrics = scope_metrics(champ, networks, settings.kid_subset_size, split_sizes)
    return evaluation


def _clean(value: float) -> float | None:
    return None if value is None or not math.isfinite(value) else round(float(value), 6)


def metrics_document(evaluation: Evaluation) -> dict:
    """metrics.json: numeric figures only (DVC compares them), NaN written as null.

    Each scope carries its counts and `fid_kid_comparable` (1 only on the full test split, calibrated).
    """
    doc: dict = {"calibrated": int(evaluation.networks.calibrated)}
    for scope, figures in evaluation.candidate_metrics.items():
        doc[scope] = {k: _clean(v) for k, v in figures.items()}
        doc[scope]["fid_kid_comparable"] = int(evaluation.comparability(scope)[0])
    if evaluation.champion_metrics:
        doc["champion"] = {s: {k: _clean(v) for k, v in f.items()} for s, f in evaluation.champion_metrics.items()}
    return doc


def _grid_images(evaluation: Evaluation, settings: EvaluateParams) -> tuple[Image.Image, dict[str, Image.Image]]:
    size = (settings.width, settings.height)
    rows = []
    for pair in review_selection(evaluation.pairs, settings.review_pairs_per_category):
        champ = evaluation.champion.results.get(pair.pair_id) if evaluation.champion else None
        rows.append(GridRow(
            [load_rgb(pair.person, size), load_rgb(pair.garment, size), champ,
             evaluation.candidate.results[pair.pair_id], evaluation.candidate.ground_truth[pair.person_id]],
            f"{pair.category} {pair.person_id}",
        ))
    review = picture_grid(REVIEW_COLUMNS, rows, size)
    galleries = {}
    by_id = {p.pair_id: p for p in evaluation.pairs}
    for category in sorted({p.category for p in evaluation.pairs}):
        grows = []
        for figure in WORST_FIGURES:
            for s in worst_pairs(evaluation.candidate.scores, category, figure, settings.worst_n):
                pair = by_id[s.pair_id]
                grows.append(GridRow(
                    [load_rgb(pair.person, size), load_rgb(pair.garment, size),
                     evaluation.candidate.results[s.pair_id], evaluation.candidate.ground_truth[pair.person_id]],
                    f"worst {figure}={getattr(s, figure):.3f} {s.pair_id}",
                ))
        galleries[category] = picture_grid(("person", "garment", "result", "ground truth"), grows, size)
    return review, galleries


def worst_cases(evaluation: Evaluation, n: int) -> list[dict]:
    """The gallery's pairs with links to their inputs (person, garment, mask) and their figures."""
    by_id = {p.pair_id: p for p in evaluation.pairs}
    out = []
    for category in sorted({p.category for p in evaluation.pairs}):
        for figure in WORST_FIGURES:
            for rank, s in enumerate(worst_pairs(evaluation.candidate.scores, category, figure, n), 1):
                pair = by_id[s.pair_id]
                out.append({
                    "category": category, "figure": figure, "rank": rank, "value": _clean(getattr(s, figure)),
                    "pair_id": s.pair_id, "person": str(pair.person), "garment": str(pair.garment),
                    "agnostic_mask": str(pair.agnostic_mask), "result": s.result,
                })
    return out


def report_markdown(evaluation: Evaluation) -> str:
    """The evaluation as Markdown tables (candidate beside champion), calibration stated on every figure."""
    mark = evaluation.calibration == "uncalibrated"
    _, statement = evaluation.comparability()
    lines = [
        "# Evaluation",
        "",
        f"- calibration: **{evaluation.calibration}** (FID/KID: {evaluation.networks.fid_extractor}; "
        f"LPIPS: {evaluation.networks.lpips_backbone})",
        f"- champion: {('v' + evaluation.champion_version) if evaluation.champion_version else 'none'}"
        + (" (re-evaluated here on the same pairs with the same networks)" if evaluation.champion_version else ""),
        f"- FID/KID overall: {statement}",
        *[f"- note: {n}" for n in evaluation.notes],
        "",
    ]
    for scope, figures in evaluation.candidate_metrics.items():
        champ = evaluation.champion_metrics.get(scope, {})
        scope_comparable, scope_statement = evaluation.comparability(scope)
        lines += [f"## {scope}", "", f"FID/KID: {scope_statement}.", "",
                  "| figure | candidate | champion | better |", "|---|---|---|---|"]
        for name, value in figures.items():
            label = f"{name} (uncalibrated)" if mark and name in FEATURE_BASED else name
            if name in SET_LEVEL:
                label += f" (n={int(figures.get('n_' + name.split('_', 1)[1]) or 0)}" + (
                    ")" if scope_comparable else "; not comparable to published results)")
            better = {True: "higher", False: "lower"}.get(GREATER_IS_BETTER.get(name), "")
            fmt = lambda v: "n/a" if v is None or not math.isfinite(v) else f"{v:.4f}"  # noqa: E731
            lines.append(f"| {label} | {fmt(value)} | {fmt(champ.get(name))} | {better} |")
        lines.append("")
    lines += ["![review grid](images/review_grid.png)", ""]
    lines += [f"[worst cases: {c}](images/worst_{c}.png)  " for c in sorted({p.category for p in evaluation.pairs})]
    return "\n".join(lines)


def write_reports(evaluation: Evaluation, settings: EvaluateParams, out_dir: Path) -> Path:
    """Write metrics.json, evaluation.json, report.md and the pictures under `out_dir`; returns metrics.json."""
    images = out_dir / "images"
    images.mkdir(parents=True, exist_ok=True)
    review, galleries = _grid_images(evaluation, settings)
    review.save(images / "review_grid.png")
    for category, gallery in galleries.items():
        gallery.save(images / f"worst_{category}.png")
    (images / "worst_cases.json").write_text(json.dumps(worst_cases(evaluation, settings.worst_n), indent=2) + "\n")
    details = {
        "calibration": evaluation.calibration,
        "fid_extractor": evaluation.networks.fid_extractor,
        "lpips_backbone": evaluation.networks.lpips_backbone,
        "champion_version": evaluation.champion_version,
        "notes": evaluation.notes,
        "candidate": [s.to_dict() for s in evaluation.candidate.scores],
        "champion": [s.to_dict() for s in evaluation.champion.scores] if evaluation.champion else [],
    }
    (out_dir / "evaluation.json").write_text(json.dumps(details, indent=2, default=_clean) + "\n")
    (out_dir / "report.md").write_text(report_markdown(evaluation))
    path = out_dir / "metrics.json"
    path.write_text(json.dumps(metrics_document(evaluation), indent=2, sort_keys=True) + "\n")
    return path


def mlflow_metrics(evaluation: Evaluation) -> dict[str, float]:
    """The figures as MLflow metrics: `eval.<scope>.<figure>` and `eval.champion.<scope>.<figure>` (finite only)."""
    out = {}
    for prefix, table in ((Metric.EVAL, evaluation.candidate_metrics),
                          (Metric.EVAL_CHAMPION, evaluation.champion_metrics)):
        for scope, figures in table.items():
            out.update({metric_key(scope, k, prefix): v for k, v in figures.items() if math.isfinite(v)})
    return out


def log_evaluation(evaluation: Evaluation, out_dir: Path, candidate_name: str | None, candidate_version: str | None,
                   experiment: str, root: Path) -> str:
    """Log figures, tags and reports to the stage's MLflow run and tag the candidate's model version; its run id."""
    import mlflow

    from components.tracking.mlflow_run import stage_run

    with stage_run("evaluate", experiment, root) as run:
        run_id = run.info.run_id
        mlflow.log_metrics(mlflow_metrics(evaluation))
        tags = {
            TAG_CALIBRATION: evaluation.calibration,
            # The champion's figures in this run come from the same networks as the candidate's (the gates check).
            TAG_CHAMPION_CALIBRATION: evaluation.calibration if evaluation.champion_metrics else "none",
            TAG_FID_KID_COMPARABILITY: evaluation.comparability()[1],
            Tag.EVAL_FID_EXTRACTOR: evaluation.networks.fid_extractor,
            Tag.EVAL_LPIPS_BACKBONE: evaluation.networks.lpips_backbone,
            Tag.EVAL_CHAMPION_VERSION: evaluation.champion_version or "none",
        }
        if candidate_version:
            tags[Tag.EVAL_CANDIDATE_VERSION] = candidate_version
        mlflow.set_tags(tags)
        for name in ("metrics.json", "evaluation.json", "report.md"):
            mlflow.log_artifact(str(out_dir / name), artifact_path="evaluate")
        galleries = sorted(p.name for p in (out_dir / "images").glob("worst_*.png"))
        for name in ("review_grid.png", "worst_cases.json", *galleries):
            mlflow.log_artifact(str(out_dir / "images" / name), artifact_path="evaluate/images")
    from components.registry.promotion import candidate_registered

    if candidate_name and candidate_version and candidate_registered(candidate_name, candidate_version):
        client = mlflow.MlflowClient()
        overall = evaluation.candidate_metrics.get(OVERALL, {})
        version_tags = {
            **{k: v for k, v in tags.items() if k != Tag.EVAL_CANDIDATE_VERSION},
            Tag.EVAL_RUN_ID: run_id,
            Tag.EVAL_REVIEW_GRID: f"runs:/{run_id}/evaluate/images/review_grid.png",
            Tag.EVAL_WORST_CASES: f"runs:/{run_id}/evaluate/images/worst_cases.json",
            Tag.EVAL_REPORT: f"runs:/{run_id}/evaluate/report.md",
            Tag.EVAL_OVERALL: json.dumps({k: _clean(v) for k, v in overall.items()}),
        }
        for key, value in version_tags.items():
            client.set_model_version_tag(candidate_name, candidate_version, key, value)
    return run_id


def find_weights(name: str) -> Path | None:
    """The model store's verified file for `name`, or None when it is not there (fallbacks take over)."""
    from components.errors import MissingWeightsError
    from components.models.store import ensure_weights

    try:
        return ensure_weights(name)
    except MissingWeightsError:
        return None


def split_sizes_of(dataset: Path) -> dict[str, int]:
    """Usable persons per category in the whole test split (what the evaluation samples from)."""
    from components.evaluate.pairs import test_rows
    from components.manifest.schema import read_manifest

    counts = test_rows(read_manifest(dataset))["category"].value_counts()
    return {str(k): int(v) for k, v in counts.items()}


def generator_for(model_dir: Path, pairs: list[EvalPair], settings: EvaluateParams, label: str) -> Generator:
    """The model in `model_dir` as a Generator: loaded here (`executor: local`), or `pairs` generated on Ray actors
    with the model loaded once per actor (`executor: ray`); scored alike by score_model either way."""
    if settings.executor == "ray":
        from components.evaluate.executors.ray_executor import ray_generator

        return ray_generator(model_dir, pairs, settings, label)
    from components.evaluate.models import pipeline_generator

    return pipeline_generator(model_dir, settings.num_inference_steps, settings.seed)
