"""The `<step>.ray` params section: how many actors, what each reserves, retries and the shared cache."""

from __future__ import annotations

from pydantic import Field, field_validator

from components.config.base import Section


class RayExecutorParams(Section):
    """Where the shards run when `executor: ray`: model actors on the cluster RAY_ADDRESS names (unset: a local Ray)."""

    actors: int = Field(default=2, ge=1)  # worker processes; each loads the models once
    num_cpus: float = Field(default=1.0, gt=0)  # reserved per actor
    num_gpus: float = Field(default=0.0, ge=0)  # per actor; fractions pack several actors on one GPU (0.25: four)
    max_retries: int = Field(default=3, ge=0)  # times a shard is resubmitted after its actor died
    # Seconds without any shard finishing before the step stops with an error naming the running shards: a hung
    # actor (a deadlocked model, a stalled mount) otherwise stalls the stage for good. Longer than the slowest
    # shard: while actors work, one of them finishes within a shard's time. null: wait for ever.
    stall_timeout_s: float | None = Field(default=3600.0, gt=0)
    # s3://bucket/prefix: the content-keyed cache the workers read before computing and write after, so a worker
    # on any machine skips work another run already did (components/executors/shared_cache.py); null: none.
    shared_cache: str | None = None

    @field_validator("num_gpus")
    @classmethod
    def _whole_above_one(cls, value: float) -> float:
        if value > 1 and not float(value).is_integer():
            raise ValueError("above 1, num_gpus must be a whole number of GPUs (Ray shares a GPU only below 1)")
        return value

    @field_validator("shared_cache")
    @classmethod
    def _s3_url(cls, value: str | None) -> str | None:
        if value is not None and (not value.startswith("s3://") or len(value.rstrip("/")) <= 5):
            raise ValueError("shared_cache must be an s3://BUCKET/PREFIX URL (or null)")
        return value
