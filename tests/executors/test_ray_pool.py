"""The shared Ray pool (components/executors/ray_pool.py) on a local Ray: an error a worker's shard raises."""

from __future__ import annotations

import pytest

from components.errors import ConfigError
from components.executors.ray_pool import on_pool, run_shards

pytestmark = [pytest.mark.slow, pytest.mark.timeout(300)]


class SharedCacheRefused:
    """An actor whose shards fail as a worker does when the shared cache refuses it (components/executors)."""

    def describe(self) -> dict:
        return {}

    def run(self, shard: int) -> None:
        raise ConfigError(f"the shared cache s3://bucket/prefix cannot be read: AccessDenied (shard {shard})",
                          hint="give the Ray workers credentials that may read and write it")

    def close(self) -> None:
        return None


def test_a_user_error_a_shard_raises_reaches_the_driver_as_that_error_without_the_workers_traceback(monkeypatch):
    monkeypatch.delenv("RAY_ADDRESS", raising=False)  # a local Ray, started and shut down by on_pool

    def work(pool) -> int:
        return run_shards(1, pool, lambda actor, i: actor.run.remote(i), lambda i, out: None,
                          lambda i, deaths, exc: None, max_retries=0)

    with pytest.raises(ConfigError) as err:
        on_pool(SharedCacheRefused, (), 1, 1.0, 0.0, "augment", lambda seen: None, work)
    assert type(err.value) is ConfigError  # this process's own error, not Ray's wrapper of it
    assert str(err.value).startswith("on a Ray worker: the shared cache s3://bucket/prefix cannot be read")
    assert "Traceback" not in str(err.value) and err.value.hint.startswith("give the Ray workers credentials")
