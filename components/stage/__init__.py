"""DVC stages: the one DVC adapter (dvc.py), consecutive stages in one `dvc repro` process (chain.py), one stage on
a worker that shares nothing but the DVC remote and the MLflow run (runner.py)."""
