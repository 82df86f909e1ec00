"""Where augment's variants are made besides this process: `augment.executor: ray` (ray_executor.py)."""
