"""A process forked after a Prefect flow ran in this one (a DataLoader worker) exits with its own status."""

import functools
import multiprocessing
import threading

import pytest
from prefect import flow, get_run_logger

from flows import fork_safety

pytestmark = pytest.mark.slow


def _quiet_child() -> None:
    """A child that does nothing: its exit status is only what its way out does."""


def _prefect_service_hooks() -> list:
    from prefect._internal.concurrency.services import _QueueServiceBase

    return [h for h in threading._threading_atexits if fork_safety.inherited_service_hook(h, _QueueServiceBase)]


def test_a_child_forked_after_a_flow_logged_to_the_api_exits_zero_not_one():
    @flow
    def logs_to_the_api() -> None:
        get_run_logger().warning("a line for Prefect's log worker")  # starts Prefect's queue services

    logs_to_the_api()
    assert _prefect_service_hooks(), "the flow started no Prefect service: this test would prove nothing"
    child = multiprocessing.get_context("fork").Process(target=_quiet_child)
    child.start()
    child.join(timeout=60)
    # Before flows/fork_safety.py: 1 (the inherited exit hook of Prefect's log worker failed an assertion).
    assert child.exitcode == 0


def test_the_clean_up_keeps_every_exit_hook_that_is_not_a_prefect_service():
    class Service:
        def stop(self) -> None:
            """Stands in for a Prefect service's exit hook."""

    kept = object()
    service = Service()
    assert fork_safety.inherited_service_hook(service.stop, Service)
    assert fork_safety.inherited_service_hook(functools.partial(service.stop), Service)  # as threading stores it
    assert not fork_safety.inherited_service_hook(kept, Service)
    assert not fork_safety.inherited_service_hook(lambda: None, Service)
