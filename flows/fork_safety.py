"""Processes forked from one that ran Prefect flows exit with their own status, not 1.

Prefect 3.8's queue services (its logs and events workers) register a threading exit hook when they start. A
forked child inherits the hook, while Prefect's own after-fork reset clears the state the hook reads, so the child
fails an assertion on its way out and exits 1. Seen in torch DataLoader workers forked after a retrain flow ran in
the same process ("DataLoader worker (pid N) exited unexpectedly with exit code 1"). The child never started those
services, so after a fork their inherited exit hooks are dropped.
"""

from __future__ import annotations

import os
import sys
import threading

_SERVICES_MODULE = "prefect._internal.concurrency.services"
_installed: list[bool] = []


def inherited_service_hook(hook: object, service_base: type) -> bool:
    """True when `hook` (an entry of threading's exit hooks: a partial of a bound method) stops a Prefect service."""
    owner = getattr(getattr(hook, "func", hook), "__self__", None)
    return isinstance(owner, service_base)


def drop_inherited_service_hooks() -> None:
    """In a forked child: remove the exit hooks of the Prefect services the parent started (none started here)."""
    services = sys.modules.get(_SERVICES_MODULE)
    hooks = getattr(threading, "_threading_atexits", None)  # CPython's list behind threading._register_atexit
    base = getattr(services, "_QueueServiceBase", None)
    if services is None or not isinstance(hooks, list) or base is None:
        return  # Prefect not imported in this process, or a Python or Prefect without these internals
    hooks[:] = [h for h in hooks if not inherited_service_hook(h, base)]


def install() -> None:
    """Register the after-fork clean-up once per process (POSIX)."""
    if _installed or not hasattr(os, "register_at_fork"):
        return
    os.register_at_fork(after_in_child=drop_inherited_service_hooks)
    _installed.append(True)
