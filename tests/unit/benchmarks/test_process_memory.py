"""Memory of a process tree: a process with everything it started."""

import os
import signal
import subprocess
import sys
import time

from benchmarks.system.process_memory import descendants, tree_memory

SLEEP = "import time; time.sleep(30)"
SLEEP_BEHIND_A_CHILD = f"import subprocess, sys; subprocess.run([sys.executable, '-c', {SLEEP!r}])"


def test_a_tree_counts_children_and_grandchildren() -> None:
    child = subprocess.Popen([sys.executable, "-c", SLEEP_BEHIND_A_CHILD])
    try:
        deadline = time.monotonic() + 10
        while not descendants(child.pid) and time.monotonic() < deadline:
            time.sleep(0.05)  # the grandchild starts a moment after the child
        grandchildren = descendants(child.pid)
        tree = tree_memory(child.pid)
        grandchild = tree_memory(grandchildren[0])

        assert len(grandchildren) == 1
        assert child.pid in descendants(os.getpid())
        assert tree is not None and grandchild is not None
        assert tree.processes == 2
        assert tree.rss_mb > grandchild.rss_mb
        assert 0 < tree.pss_mb <= tree.rss_mb
        # A process measured on its own (a service under the supervisor) is not counted twice.
        alone = tree_memory(child.pid, stop_at={grandchildren[0]})
        assert alone is not None and alone.processes == 1
    finally:
        for pid in descendants(child.pid):
            os.kill(pid, signal.SIGKILL)
        child.kill()
        child.wait()


def test_a_process_that_is_gone_has_no_memory() -> None:
    gone = subprocess.Popen([sys.executable, "-c", "pass"])
    gone.wait()

    assert tree_memory(gone.pid) is None
