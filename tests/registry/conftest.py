"""A real SQLite MLflow registry with a logged pyfunc model and helpers to register evaluated candidates."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

MODEL = "vton-tryon"




@pytest.fixture(scope="session")
def registry_template(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, str, str]:
    """A SQLite store built once per session (migrations and pyfunc logging take seconds): experiment,
    a logged pyfunc model and the registered model; (db file, experiment id, model uri)."""
    import mlflow

    class Echo(mlflow.pyfunc.PythonModel):
        def predict(self, context, model_input, params=None):
            return model_input

    home = tmp_path_factory.mktemp("registry-template")
    db = home / "mlflow.db"
    previous = mlflow.get_tracking_uri()
    mlflow.set_tracking_uri(f"sqlite:///{db}")
    try:
        client = mlflow.MlflowClient()
        exp_id = client.create_experiment("vton-pipeline", artifact_location=(home / "mlartifacts").as_uri())
        with mlflow.start_run(experiment_id=exp_id, run_name="model-source"):
            info = mlflow.pyfunc.log_model(name="tryon_model", python_model=Echo(), pip_requirements=["mlflow"])
        client.create_registered_model(MODEL)
    finally:
        mlflow.set_tracking_uri(previous)
    return db, exp_id, info.model_uri


@pytest.fixture
def registry(registry_template, tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    """(client, experiment id, logged model uri) on a fresh copy of the template store."""
    import mlflow

    db, exp_id, model_uri = registry_template
    shutil.copy2(db, tmp_path / "mlflow.db")
    uri = f"sqlite:///{tmp_path / 'mlflow.db'}"
    monkeypatch.setenv("MLFLOW_TRACKING_URI", uri)
    mlflow.set_tracking_uri(uri)
    return mlflow.MlflowClient(), exp_id, model_uri


def figures(lpips: float, ssim: float = 0.8, gfd: float = 0.1, n: int = 4, categories=("upper_body", "lower_body"),
            per_category: dict | None = None) -> dict[str, dict[str, float]]:
    """Evaluation figures per scope; `per_category` overrides single figures of one category."""
    out = {}
    for scope in (*categories, "overall"):
        out[scope] = {"n_paired": float(n if scope != "overall" else n * len(categories)),
                      "lpips": lpips, "ssim": ssim, "gfd_paired": gfd}
    for category, values in (per_category or {}).items():
        out[category].update(values)
    return out


def register_candidate(registry, mine: dict, champion: dict | None = None, champion_version: str | None = None,
                       lineage: bool = True, data_gate: str | None = "passed") -> tuple[str, str]:
    """A retrain-like run (eval metrics, lineage tags, params.yaml) and its registered version: (run id, version)."""
    import tempfile
    from pathlib import Path

    client, exp_id, model_uri = registry
    tags = {"vton.eval.champion_version": champion_version or "none", "vton.eval.calibration": "uncalibrated"}
    if lineage:
        tags.update({"vton.data_version": "abc123", "vton.code_version": "deadbeef"})
    if data_gate:
        tags["vton.validate.gate"] = data_gate
    run = client.create_run(exp_id, run_name="retrain-smoke", tags=tags)
    run_id = run.info.run_id
    metrics = {f"eval.{s}.{k}": v for s, f in mine.items() for k, v in f.items()}
    if champion:
        metrics.update({f"eval.champion.{s}.{k}": v for s, f in champion.items() for k, v in f.items()})
    for key, value in metrics.items():
        client.log_metric(run_id, key, value)
    if lineage:
        with tempfile.TemporaryDirectory() as tmp:
            p = Path(tmp) / "params.yaml"
            p.write_text("profile: smoke\n")
            client.log_artifact(run_id, str(p))
    version = client.create_model_version(MODEL, source=model_uri, run_id=run_id)
    client.set_terminated(run_id)
    return run_id, str(version.version)
