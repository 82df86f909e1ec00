"""A mutual-exclusion lock on a registered model's aliases, built on the registry's own atomic primitive.

Creating a registered model is create-if-absent: the name column is unique in every MLflow backend
(SQLite, PostgreSQL, MySQL, and a tracking server in front of them), so exactly one of several concurrent
`create_registered_model("<model>.promotion-lock")` calls succeeds. The winner holds the lock until it
deletes that model. Every promotion, approval, rejection and rollback re-reads the aliases inside the lock
(compare-and-set), so two processes can never both move `champion` from the same starting point.

A holder that dies leaves the lock behind; it is never broken automatically (a timed break can let two
holders in). `vton registry unlock` removes it after a human has checked the holder is gone.
"""

from __future__ import annotations

import contextlib
import os
import random
import time
import uuid
from collections.abc import Iterator

from components.errors import VtonError
from components.registry.ledger import actor, now_iso

LOCK_SUFFIX = ".promotion-lock"


class RegistryLocked(VtonError):
    """Another process holds the registry lock for longer than we were willing to wait."""


def lock_name(model: str) -> str:
    """The registered-model name used as `model`'s lock."""
    return f"{model}{LOCK_SUFFIX}"


def _already_exists(exc: Exception) -> bool:
    return getattr(exc, "error_code", "") == "RESOURCE_ALREADY_EXISTS" or "already exists" in str(exc).lower()


def _busy_database(exc: Exception) -> bool:
    # SQLite serialises writers; a concurrent writer shows up as "database is locked": retry, nothing was written.
    return "database is locked" in str(exc).lower()


def _released_meanwhile(exc: Exception) -> bool:
    # MLflow answers a duplicate create by looking the existing model up; if its holder deleted it in between,
    # that lookup fails with "not found": the lock is free again, so try again.
    return getattr(exc, "error_code", "") == "RESOURCE_DOES_NOT_EXIST"


def lock_holder(client, model: str) -> dict[str, str] | None:
    """The current lock's tags (holder, acquired_at, purpose), or None when the lock is free."""
    from mlflow.exceptions import MlflowException

    try:
        return dict(client.get_registered_model(lock_name(model)).tags or {})
    except MlflowException:
        return None


@contextlib.contextmanager
def registry_lock(client, model: str, purpose: str, timeout_s: float = 60.0) -> Iterator[str]:
    """Hold `model`'s promotion lock for the block (waiting up to `timeout_s`); yields the holder id."""
    from mlflow.exceptions import MlflowException

    holder = f"{actor()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"
    deadline = time.monotonic() + timeout_s
    while True:
        try:
            client.create_registered_model(
                lock_name(model),
                tags={"holder": holder, "acquired_at": now_iso(), "purpose": purpose},
                description=f"Promotion lock of {model}: held while aliases move. Do not edit.",
            )
            break
        except MlflowException as exc:
            if not (_already_exists(exc) or _busy_database(exc) or _released_meanwhile(exc)):
                raise
        if time.monotonic() > deadline:
            held = lock_holder(client, model) or {}
            raise RegistryLocked(
                f"registry lock of {model!r} is held by {held.get('holder', '?')} since {held.get('acquired_at', '?')} "
                f"({held.get('purpose', '?')})",
                hint="wait for that promotion to finish; if its process is gone, run `vton registry unlock`",
            )
        time.sleep(0.1 + random.random() * 0.2)
    try:
        yield holder
    finally:
        _release(client, model, holder)


def _release(client, model: str, holder: str) -> None:
    from mlflow.exceptions import MlflowException

    for _ in range(50):
        try:
            held = lock_holder(client, model)
            if held is None or held.get("holder") != holder:
                return  # someone unlocked it by hand; never delete another holder's lock
            client.delete_registered_model(lock_name(model))
            return
        except MlflowException as exc:
            if not _busy_database(exc):
                raise
            time.sleep(0.1)


def force_unlock(client, model: str) -> dict[str, str] | None:
    """Remove `model`'s lock whoever holds it (operator action); returns the removed holder's tags."""
    held = lock_holder(client, model)
    if held is not None:
        client.delete_registered_model(lock_name(model))
    return held
