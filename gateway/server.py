"""uvicorn's server, adapted to end the app's streams on SIGTERM and return to main()."""

import contextlib
import signal
from collections.abc import Callable, Iterator
from types import FrameType

import uvicorn


class GatewayServer(uvicorn.Server):
    def __init__(self, config: uvicorn.Config, on_exit: Callable[[], None]) -> None:
        super().__init__(config)
        self._on_exit = on_exit

    def handle_exit(self, sig: int, frame: FrameType | None) -> None:
        # uvicorn waits for open responses before it stops; alert streams never end by
        # themselves, so they are told to end first.
        self._on_exit()
        super().handle_exit(sig, frame)

    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        # uvicorn's own version re-raises the signal once it has stopped; SIGTERM's default
        # action would then kill the process before main() closes channels and flushes spans.
        previous = {sig: signal.signal(sig, self.handle_exit) for sig in _HANDLED}
        try:
            yield
        finally:
            for sig, handler in previous.items():
                signal.signal(sig, handler)


_HANDLED = (signal.SIGINT, signal.SIGTERM)
