import os
import subprocess
import sys
import time

from benchmarks.system.process_cpu import cpu_ms_per_message, cpu_seconds


def test_cpu_seconds_grow_with_work_and_are_none_for_a_process_gone() -> None:
    before = cpu_seconds(os.getpid())
    deadline = time.process_time() + 0.2
    while time.process_time() < deadline:
        pass
    after = cpu_seconds(os.getpid())

    assert before is not None and after is not None
    assert after - before >= 0.15  # clock ticks are 10 ms
    gone = subprocess.Popen([sys.executable, "-c", "pass"])
    gone.wait()
    assert cpu_seconds(gone.pid) is None


def test_cpu_per_message_leaves_out_processes_missing_at_either_reading() -> None:
    before = {"classify": 10.0, "alert": 2.0, "gone": 1.0, "late": None}
    after = {"classify": 13.0, "alert": 2.5, "late": 4.0}

    assert cpu_ms_per_message(before, after, messages=1000) == {"classify": 3.0, "alert": 0.5}
