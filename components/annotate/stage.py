"""The `annotate` stage (`run`): a dataset directory (import's manifest) or a plain photo folder in, a VITON-HD
layout dataset plus manifest and overlay sheets out (run.py annotates, sheets.py draws).

A re-run whose inputs, params and code are all unchanged is answered by the whole-run lookup (whole_run.py)
before the annotate code, pandas or any model loads: a cached `vton annotate` costs about its start-up.
"""

from __future__ import annotations

from pathlib import Path

from components.annotate.report import AnnotateResult
from components.annotate.whole_run import look_up_run, save_run
from components.manifest.names import CATEGORIES, MANIFEST_FILENAME
from components.params import Params


def run(params: Params, root: Path, input: Path | None = None, out: Path | None = None,
        categories: list[str] | None = None, cache_dir: Path | None = None) -> AnnotateResult:
    """Annotate `input` (default paths.imported; a dataset dir, or a plain photo folder annotated for
    `categories`, default upper_body) into `out` (default paths.annotated). Run as the DVC stage (a project,
    default paths) it writes the overlay sheets under paths.reports and logs to MLflow; otherwise beside `out`."""
    from components.errors import ConfigError, DataContractError
    from components.project import resolve

    settings = params.annotate
    source = resolve(input or params.paths.imported, root)
    target = resolve(out or params.paths.annotated, root)
    cache = resolve(cache_dir or settings.cache_dir, root)
    if not source.is_dir():
        raise DataContractError(f"{source}: input folder not found",
                                hint="run `vton data import` first, or pass --input DIR")
    is_dataset = (source / MANIFEST_FILENAME).is_file()
    cats = None if is_dataset else (categories or ["upper_body"])
    bad = [c for c in cats or () if c not in CATEGORIES]
    if bad:
        raise ConfigError(f"--category {bad}: must be one of {list(CATEGORIES)}")
    is_stage = (root / "params.yaml").is_file() and input is None and out is None
    sheets_dir = resolve(params.paths.reports, root) / "annotate" if is_stage else target / "overlays"

    lookup = look_up_run(source, target, settings, params.fit, cache, sheets_dir, cats)
    result = lookup.result
    if result is None:
        # Only now the annotate code and what it imports (pandas, PIL, OpenCV, the annotators): a cached run needs none.
        from components.annotate.run import annotate_dataset, annotate_folder
        from components.annotate.sheets import write_overlays

        if is_dataset:
            result = annotate_dataset(source, target, settings, cache, fit=params.fit)
        else:
            result = annotate_folder(source, target, settings, cache, cats, fit=params.fit)
        result.sheets = write_overlays(result, sheets_dir, settings.overlay_samples, cache)
        save_run(lookup, result)
    if is_stage:
        _log_to_mlflow(params, result)
    return result


def _log_to_mlflow(params: Params, result: AnnotateResult) -> None:
    """Overlay sheets and counts into the retrain's MLflow run (or a standalone `annotate` run)."""
    import mlflow

    from components.tracking.contract import Metric, metric_key
    from components.tracking.mlflow_run import stage_run

    report = result.report
    with stage_run("annotate", params.project.mlflow_experiment):
        mlflow.log_metrics({metric_key(Metric.ANNOTATE, name): value for name, value in (
            ("samples", report.total), ("new", report.done), ("cached", report.cached),
            ("quarantined", report.quarantined), ("model_calls", report.model_calls),
            ("retried_shards", report.retried_shards),
        )})
        for path in result.sheets.values():
            mlflow.log_artifact(str(path), artifact_path="annotate")
