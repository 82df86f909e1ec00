"""vton-pipeline components: the pipeline's steps as plain Python (no Prefect import here)."""

__version__ = "0.1.0"
