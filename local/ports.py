"""Whether a local TCP port is free to listen on."""

import socket


def port_free(port: int, host: str = "127.0.0.1") -> bool:
    """True when nothing listens on `port`.

    SO_REUSEADDR, as servers set it: connections of a previous run lingering in TIME_WAIT do
    not make the port busy.
    """
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind((host, port))
        except OSError:
            return False
    return True
