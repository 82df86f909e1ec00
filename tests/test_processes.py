"""Process facts and the fast exit the CLI and the test runner end with."""

import os
import subprocess
import sys
import textwrap

from components.processes import process_alive
from tests.conftest import REPO


def test_this_process_is_alive_and_a_reaped_child_is_not():
    child = subprocess.Popen([sys.executable, "-c", "pass"])
    child.wait()
    assert process_alive(os.getpid())
    assert not process_alive(child.pid)


def test_the_fast_exit_keeps_the_status_and_buffered_output_and_runs_no_later_exit_hook():
    script = textwrap.dedent("""
        import atexit, logging, sys
        from components.processes import exit_without_teardown
        atexit.register(lambda: print("an exit hook ran"))
        logging.basicConfig(stream=sys.stderr, format="%(message)s")
        print("still in stdout's buffer", end="")
        logging.getLogger("t").warning("a logged line")
        exit_without_teardown(3)
    """)
    out = subprocess.run([sys.executable, "-c", script], cwd=REPO, capture_output=True, text=True, timeout=60)
    assert out.returncode == 3
    assert out.stdout == "still in stdout's buffer"  # flushed, and the exit hook never printed
    assert "a logged line" in out.stderr
