"""Where evaluate's try-ons are generated besides this process: `evaluate.executor: ray` (ray_executor.py)."""
