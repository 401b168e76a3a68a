"""Resident memory of a process and everything it started, read from /proc (Linux).

RSS counts every page a process maps, so pages two processes share (the Python interpreter,
a library loaded by both) count in each: the sum over processes is what `ps` and most tools
add up, and what a container limit is compared against per process. PSS splits each shared
page between its sharers, so the PSS of all processes adds up to the memory they really use.
Both are reported.
"""

from collections import defaultdict
from collections.abc import Collection
from dataclasses import dataclass
from pathlib import Path

PROC = Path("/proc")


@dataclass(frozen=True)
class TreeMemory:
    processes: int  # the process and its descendants, alive when read
    rss_mb: float
    pss_mb: float


def descendants(pid: int, stop_at: Collection[int] = ()) -> list[int]:
    """Every process below `pid` (children, their children, ...), from each one's parent id.

    Processes in `stop_at` are left out with everything below them: measured on their own.
    """
    children: dict[int, list[int]] = defaultdict(list)
    for stat in PROC.glob("[0-9]*/stat"):
        try:
            text = stat.read_text()
        except OSError:
            continue  # exited while we looked
        # "pid (comm) state ppid ...": comm may hold spaces and parentheses, so split after it.
        ppid = int(text[text.rindex(")") + 2 :].split()[1])
        children[ppid].append(int(stat.parent.name))
    found: list[int] = []
    pending = [pid]
    while pending:
        below = [child for child in children.get(pending.pop(), []) if child not in stop_at]
        found += below
        pending += below
    return found


def tree_memory(pid: int, stop_at: Collection[int] = ()) -> TreeMemory | None:
    """RSS and PSS of `pid` plus its descendants (but `stop_at`'s); None when `pid` is gone."""
    own = _rollup(pid)
    if own is None:
        return None
    rss_kb, pss_kb, count = own[0], own[1], 1
    for child in descendants(pid, stop_at):
        memory = _rollup(child)
        if memory is not None:
            rss_kb, pss_kb, count = rss_kb + memory[0], pss_kb + memory[1], count + 1
    return TreeMemory(count, round(rss_kb / 1024, 1), round(pss_kb / 1024, 1))


def _rollup(pid: int) -> tuple[int, int] | None:
    """(Rss, Pss) in kB from smaps_rollup; None for a process gone (or a zombie: no maps)."""
    try:
        lines = (PROC / str(pid) / "smaps_rollup").read_text().splitlines()
    except OSError:
        return None
    fields: dict[str, str] = {}
    for line in lines[1:]:
        name, _, value = line.partition(":")
        fields[name] = value.split()[0] if value.split() else "0"
    if "Rss" not in fields:
        return None
    return int(fields["Rss"]), int(fields.get("Pss", "0"))
