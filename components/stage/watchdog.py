"""Stop a stage's process group when the process that started it dies, even by SIGKILL.

A SIGKILLed retrain runs no cleanup: DVC (in its own process group) and the stage command DVC runs would go on,
holding the stage's outputs and DVC's rwlock. So beside each `dvc repro` runs this watchdog, as a script with only
the standard library (`python -I -S watchdog.py PGID`). Its stdin is a pipe whose write end only the starter holds:
one byte on it means "the stage ended, stand down"; end of file without one means the starter is gone, and the
group (DVC and everything its command started) gets SIGTERM, then SIGKILL after a grace period.

Kept free of project imports so it starts in milliseconds and needs no PYTHONPATH.
"""

from __future__ import annotations

import os
import signal
import sys
import time

RELEASE = b"x"  # written by the starter when the stage ended (or it stopped the group itself)
GRACE_S = 5.0


def group_alive(pgid: int) -> bool:
    """True while any process of group `pgid` exists (zombies included)."""
    try:
        os.killpg(pgid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def stop_group(pgid: int, grace_s: float = GRACE_S) -> None:
    """SIGTERM group `pgid`; SIGKILL what is left after `grace_s`."""
    try:
        os.killpg(pgid, signal.SIGTERM)
    except ProcessLookupError:
        return
    deadline = time.monotonic() + grace_s
    while time.monotonic() < deadline:
        if not group_alive(pgid):
            return
        time.sleep(0.05)
    try:
        os.killpg(pgid, signal.SIGKILL)
    except ProcessLookupError:
        pass


def main(argv: list[str]) -> int:
    """Wait on stdin; stop group argv[1] unless the starter released it first."""
    pgid = int(argv[1])
    grace_s = float(argv[2]) if len(argv) > 2 else GRACE_S
    # In its own session already; Ctrl-C in the terminal is the starter's to handle, not ours.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    try:
        released = os.read(0, 1)
    except OSError:
        released = b""
    if released == RELEASE:
        return 0
    stop_group(pgid, grace_s)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
