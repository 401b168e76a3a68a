"""`python -m local.k8s`: a local control plane with fake nodes until Ctrl-C.

Apply an overlay to it by hand:
    export KUBECONFIG=<printed path>
    python -m local.k8s.dev_secrets && kubectl apply --server-side -k k8s/overlays/dev
"""

import signal
import sys
import tempfile
import threading
from pathlib import Path

from local.k8s.cluster import start_cluster
from local.k8s.tools import K8sTools


def main() -> int:
    tools = K8sTools.from_env()
    stopping = threading.Event()
    signal.signal(signal.SIGINT, lambda *_: stopping.set())
    signal.signal(signal.SIGTERM, lambda *_: stopping.set())
    with tempfile.TemporaryDirectory(prefix="carepulse-k8s-") as state:
        control_plane = start_cluster(Path(state), tools)
        try:
            print(
                f"Local control plane ready at {control_plane.server}\n"
                f"  export KUBECONFIG={control_plane.kubeconfig}\n"
                f"  export CAREPULSE_KUBECTL={tools.kubectl}\n"
                f"  (logs in {control_plane.log_dir}; Ctrl-C stops it and deletes its state)",
                flush=True,
            )
            while not stopping.wait(1):
                if crashed := control_plane.crashed():
                    print(f"stopping: {', '.join(crashed)} exited", file=sys.stderr)
                    return 1
            return 0
        finally:
            control_plane.stop()


if __name__ == "__main__":
    sys.exit(main())
