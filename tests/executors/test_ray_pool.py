"""The shared Ray pool (components/executors/ray_pool.py) on one local Ray: an error a worker's shard raises, and
a pool where no shard finishes."""

from __future__ import annotations

import logging
import time

import pytest
import ray

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


@pytest.fixture(scope="module")
def local_ray():
    """One local Ray for the module (on_pool joins it rather than starting its own)."""
    ray.init(address="local", num_cpus=2, include_dashboard=False, log_to_driver=False, logging_level=logging.WARNING)
    yield
    ray.shutdown()


class Hung:
    """An actor whose shards never finish, as a deadlocked model or a stalled mount leaves one."""

    def describe(self) -> dict:
        return {}

    def run(self, shard: int) -> None:
        time.sleep(3600)

    def close(self) -> None:
        return None


def test_a_user_error_a_shard_raises_reaches_the_driver_as_that_error_without_the_workers_traceback(local_ray):

    def work(pool) -> int:
        return run_shards(1, pool, lambda actor, i: actor.run.remote(i), lambda i, out: None,
                          lambda i, deaths, exc: None, max_retries=0)

    with pytest.raises(ConfigError) as err:
        on_pool(SharedCacheRefused, (), 1, 1.0, 0.0, "augment", lambda seen: None, work)
    assert type(err.value) is ConfigError  # this process's own error, not Ray's wrapper of it
    assert str(err.value).startswith("on a Ray worker: the shared cache s3://bucket/prefix cannot be read")
    assert "Traceback" not in str(err.value) and err.value.hint.startswith("give the Ray workers credentials")


def test_a_pool_where_no_shard_finishes_within_the_stall_timeout_stops_at_once_naming_the_shards(local_ray):
    def work(pool) -> int:
        return run_shards(3, pool, lambda actor, i: actor.run.remote(i), lambda i, out: None,
                          lambda i, deaths, exc: None, max_retries=0, stall_timeout_s=2.0)

    started = time.monotonic()
    with pytest.raises(ConfigError) as err:
        on_pool(Hung, (), 1, 1.0, 0.0, "annotate", lambda seen: None, work)
    assert time.monotonic() - started < 30  # the hung actor was killed at once, not waited for
    assert "no annotate shard finished on the Ray cluster for 2 s; running: shards 0" in str(err.value)
    assert "annotate.ray.stall_timeout_s" in err.value.hint


# What a Ray Client head answered when its per-client server failed to come up (Ray's proxier.py), in both forms
# seen on a loaded head: the server exited, or it exited between the proxier's poll() and psutil's cmdline().
_SERVER_EXITED = ("Initialization failure from server:\nRuntimeError: Starting Ray client server failed. See "
                  "ray_client_server_23001.err for detailed logs.")
_SERVER_ZOMBIE = ("Initialization failure from server:\nTraceback (most recent call last):\n  File \"proxier.py\", "
                  "line 396, in start_specific_server\n    cmd = psutil_proc.cmdline()\n"
                  "psutil.ZombieProcess: PID still exists but it's a zombie (pid=26606)")


@pytest.mark.parametrize("message", [_SERVER_EXITED, _SERVER_ZOMBIE])
def test_a_client_server_that_failed_to_start_on_the_head_is_worth_another_connect(message):
    from components.executors.ray_pool import client_server_failed

    assert client_server_failed("ray://127.0.0.1:10001", ConnectionError(message))
    # The same words from a cluster joined by GCS address are not Ray Client's; nor is any other failure.
    assert not client_server_failed("127.0.0.1:6379", ConnectionError(message))
    assert not client_server_failed("ray://127.0.0.1:10001", ConnectionError("Connection refused"))
