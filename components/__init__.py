"""vton-pipeline components: the pipeline's steps as plain Python (no Prefect import here)."""

from components.usage_statistics import opt_out as _opt_out_of_usage_statistics

__version__ = "0.1.0"

_opt_out_of_usage_statistics()  # before any step imports MLflow, DVC, Great Expectations, Ray or the HF hub
