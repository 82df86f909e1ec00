"""Facts about processes on this host, for the code that must tell a live owner from a dead one."""

from __future__ import annotations

import os
import sys


def process_alive(pid: int) -> bool:
    """True when a process with `pid` exists on this host (owned by anyone)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True  # it exists, owned by someone else
    return True


def exit_without_teardown(status: int) -> None:
    """Flush logging and the standard streams, then end this process with `status` at once: no further exit hooks,
    no interpreter teardown (which frees only memory the OS frees anyway, and runs native modules' destructors)."""
    import logging

    logging.shutdown()  # logging's own exit hook may be registered before the caller's: flush the handlers now
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.flush()
        except (OSError, ValueError):
            pass
    os._exit(status)
