"""CPU time a process has used, read from /proc (Linux): where a benchmark's cycles went."""

import os
from collections.abc import Mapping
from pathlib import Path

PROC = Path("/proc")
_TICKS_PER_S = os.sysconf("SC_CLK_TCK")


def cpu_seconds(pid: int) -> float | None:
    """User + system CPU seconds of `pid` so far; None when it is gone."""
    try:
        text = (PROC / str(pid) / "stat").read_text()
    except OSError:
        return None
    # "pid (comm) state ppid ...": comm may hold spaces and parentheses, so split after it;
    # utime and stime are fields 14 and 15 (11 and 12 after the state).
    fields = text[text.rindex(")") + 2 :].split()
    return (int(fields[11]) + int(fields[12])) / _TICKS_PER_S


def cpu_ms_per_message(
    before: Mapping[str, float | None], after: Mapping[str, float | None], messages: int
) -> dict[str, float]:
    """Milliseconds of CPU per message of each process alive at both readings."""
    used = {
        name: end - start
        for name, start in before.items()
        if start is not None and (end := after.get(name)) is not None
    }
    return {name: round(1000 * seconds / messages, 3) for name, seconds in used.items()}
