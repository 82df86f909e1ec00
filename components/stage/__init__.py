"""Run one DVC stage on a worker that shares nothing but the DVC remote and the MLflow run."""
