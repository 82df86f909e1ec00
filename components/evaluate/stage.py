"""The `evaluate` stage (`run`): the candidate (and the champion, on the same pairs) on the test split of
paths.augmented, reports under <paths.reports>/evaluate (see components/evaluate/run.py), figures to MLflow."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from components.evaluate.params import EvaluateParams
from components.evaluate.run import (
    Evaluation,
    evaluate_models,
    find_weights,
    generator_for,
    log_evaluation,
    split_sizes_of,
    write_reports,
)
from components.params import Params
from components.project import resolve


@dataclass
class EvaluateResult:
    """The evaluation and the DVC metrics file it wrote."""

    evaluation: Evaluation
    metrics_path: Path

    def summary(self) -> str:
        """The candidate's overall figures, what FID/KID may be compared with, the champion, notes, the metrics file."""
        evaluation = self.evaluation
        overall = evaluation.candidate_metrics.get("overall", {})
        figures = ", ".join(f"{k}={v:.4f}" for k, v in overall.items() if not k.startswith("n_") and v == v)
        lines = [f"evaluated {len(evaluation.candidate.scores)} pairs ({evaluation.calibration}): {figures}",
                 f"FID/KID: {evaluation.comparability()[1]}",
                 f"size accuracy: {size_accuracy_line(evaluation.candidate_metrics)}"]
        if evaluation.champion_version:
            lines.append(f"compared with champion v{evaluation.champion_version} on the same pairs")
        lines += [f"note: {note}" for note in evaluation.notes]
        lines.append(f"metrics: {self.metrics_path}")
        return "\n".join(lines)


def size_accuracy_line(metrics: dict[str, dict[str, float]]) -> str:
    """Size accuracy per category and overall, with the pairs each was computed on."""
    parts = []
    for scope, figures in metrics.items():
        value, n = figures.get("size_accuracy"), int(figures.get("n_size") or 0)
        shown = "n/a" if value is None or value != value else f"{value:.2f}"
        parts.append(f"{scope} {shown} (n={n})")
    return ", ".join(parts) + " (fraction of pairs whose generated fit label is the requested one)"


def run(params: Params, root: Path) -> EvaluateResult:
    """Candidate (and champion) on the test split of paths.augmented; reports under <paths.reports>/evaluate."""
    import mlflow
    import torch

    from components.errors import DataContractError
    from components.evaluate.models import champion_model_dir, champion_version, read_candidate_info
    from components.evaluate.networks import load_metric_networks
    from components.evaluate.pairs import build_pairs, pairing_notes
    from components.tracking.mlflow_run import configure_mlflow

    settings: EvaluateParams = params.evaluate
    torch.manual_seed(settings.seed)
    dataset = resolve(params.paths.augmented, root)
    model_dir = resolve(params.paths.models, root) / "candidate"
    out_dir = resolve(params.paths.reports, root) / "evaluate"
    pairs = build_pairs(dataset, settings.max_pairs_per_category)
    split_sizes = split_sizes_of(dataset)
    if not pairs:
        raise DataContractError(
            f"{dataset}: no usable test pairs (split=test, status=ok, with an agnostic mask)",
            hint="check the import test_fraction and the annotate stage's quarantine reasons",
        )
    networks = load_metric_networks(find_weights, settings.seed, settings.require_calibrated)
    candidate = generator_for(model_dir, pairs, settings, "candidate")
    info = read_candidate_info(model_dir)
    name = info.name or params.project.registered_model
    configure_mlflow(params.project.mlflow_experiment, root)
    champion = None
    version = champion_version(mlflow.MlflowClient(), name) if settings.evaluate_champion else None
    import shutil
    import tempfile

    # The champion's download (a whole model) lasts as long as its generator is used: one per evaluation.
    with tempfile.TemporaryDirectory(prefix="vton-champion-") as download:
        if version is not None and version != info.version:
            champion_dir = champion_model_dir(mlflow.MlflowClient(), name, version, Path(download))
            champion = (version, generator_for(champion_dir, pairs, settings, "champion"))
        shutil.rmtree(out_dir, ignore_errors=True)
        evaluation = evaluate_models(pairs, candidate, networks, settings, out_dir, champion, split_sizes,
                                     params.fit)
    if version is not None and version == info.version:
        evaluation.notes.append(f"the candidate is already champion v{version}: compared with nothing")
    evaluation.notes.append(_families_note(model_dir, name, champion[0] if champion else None))
    evaluation.notes += pairing_notes(pairs)
    path = write_reports(evaluation, settings, out_dir)
    log_evaluation(evaluation, out_dir, info.name, info.version, params.project.mlflow_experiment, root)
    return EvaluateResult(evaluation, path)


def _families_note(model_dir: Path, name: str, champion: str | None) -> str:
    """Which model family each compared model is (any family may hold champion)."""
    import mlflow

    from components.train.families import family_of, read_model_config
    from components.train.families.base import MODEL_FAMILY_TAG, SIZE_TAG, is_size_aware, size_map_input

    config = read_model_config(model_dir)
    size = (f"size-aware, size map: {size_map_input(config)}" if is_size_aware(config)
            else "size-blind: its size accuracy is the fit it draws unasked")
    note = f"candidate family: {family_of(config)} ({size})"
    if champion is not None:
        tags = mlflow.MlflowClient().get_model_version(name, champion).tags or {}
        note += (f"; champion v{champion} family: {tags.get(MODEL_FAMILY_TAG, 'catvton_flux (untagged)')} "
                 f"(size conditioning {tags.get(SIZE_TAG, 'off (untagged)')})")
    return note
