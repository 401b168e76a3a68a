"""What both harnesses share around their run: a work folder, and the JSON summary last."""

import json
import shutil
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any


@contextmanager
def work_folder(given: str | None, prefix: str, keep: bool) -> Iterator[Path]:
    """`given`, or a fresh temporary folder; removed afterwards unless `keep`."""
    folder = Path(given or tempfile.mkdtemp(prefix=prefix))
    folder.mkdir(parents=True, exist_ok=True)
    try:
        yield folder
    finally:
        if not keep:
            shutil.rmtree(folder, ignore_errors=True)


def finish(summary: dict[str, Any], started: float) -> int:
    """Print the summary as the last line, with duration and date; the process's exit code."""
    summary["seconds"] = round(time.monotonic() - started)
    summary["date"] = datetime.now(UTC).date().isoformat()
    print(json.dumps(summary, ensure_ascii=False))
    return 0 if summary["held"] else 1
