"""How every system benchmark ends: its figures, when and where they were measured, JSON last."""

import json
import os
import platform
import time
from datetime import UTC, datetime
from typing import Any


class Report:
    """Records the machine's state at the start; `print_last` adds the end and prints."""

    def __init__(self) -> None:
        self._started = time.monotonic()
        self._load_at_start = os.getloadavg()

    def print_last(self, summary: dict[str, Any]) -> None:
        """The summary as one JSON object on the last line of stdout."""
        summary["machine"] = {
            "cpu_count": os.cpu_count(),
            "platform": platform.platform(),
            # Other work on the machine shows here: the figures are only as quiet as this.
            "load_average_start": [round(x, 2) for x in self._load_at_start],
            "load_average_end": [round(x, 2) for x in os.getloadavg()],
        }
        summary["seconds"] = round(time.monotonic() - self._started)
        summary["date"] = datetime.now(UTC).isoformat(timespec="seconds")
        print(json.dumps(summary, ensure_ascii=False), flush=True)
