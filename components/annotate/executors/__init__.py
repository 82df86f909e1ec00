"""Where the annotate engine's shards run besides this machine's process pool.

`annotate.executor: local` runs them in engine.py (one process, or a forkserver pool); `ray` runs them on
Ray actors (ray_executor.py). Either way the driver plans the shards after skipping cached samples, keeps the
cache, and assembles the manifest from the same per-sample results, so outputs do not depend on where the
shards ran. shipping.py moves a shard's inputs to a worker and its finished files back.
"""
