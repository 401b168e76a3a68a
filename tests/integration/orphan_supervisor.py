"""A stand-in supervisor for the orphan test: starts a real broker and a child, then waits.

Run as `python -m tests.integration.orphan_supervisor DATA_DIR PORT`; prints the children's
pids as one JSON line once both run.
"""

import json
import sys
import time
from pathlib import Path

from local.broker import BrokerPorts, KafkaBroker
from local.processes import ManagedProcess


def main() -> None:
    data_dir, port = Path(sys.argv[1]), int(sys.argv[2])
    broker = KafkaBroker(data_dir / "kafka", BrokerPorts(port, port + 1), data_dir / "kafka.log")
    broker.start()
    sleeper = ManagedProcess(
        "sleeper",
        [sys.executable, "-c", "import time; time.sleep(600)"],
        env={},
        cwd=data_dir,
        log_file=data_dir / "sleeper.log",
    )
    sleeper.start()
    print(json.dumps({"kafka": broker.pid, "sleeper": sleeper.pid}), flush=True)
    time.sleep(600)


if __name__ == "__main__":
    main()
