"""Where a step's shards run besides this machine: the Ray cluster shared by annotate, augment and evaluate.

ray_pool.py joins the cluster, keeps a pool of model actors (replaced when one dies) and schedules shards on
them with retries; each step's own executor module (components/annotate/executors, components/data/augment/
executors, components/evaluate/executors) says what a shard carries and how the driver lands it.
shared_cache.py is the content-keyed cache on S3 that workers on any machine read and write.
"""
