"""Prefect flows: orchestration only. They drive the DVC stages whose code lives in components/."""
