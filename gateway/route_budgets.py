"""Admission control per route group, so one slow dependency cannot take every worker thread.

The gateway's sync routes run on one thread pool. Without a bound per group, requests waiting
on a slow classify (chat) would hold every thread, and alerts, feedback and probes would queue
behind them. Each group may hold at most its budget of requests in flight; one more is answered
503 with Retry-After at once, and the thread pool is sized to the sum of the budgets.
"""

from collections.abc import Sequence
from dataclasses import dataclass

import anyio.to_thread
from starlette.types import ASGIApp, Receive, Scope, Send

from gateway.problems import Problem


@dataclass(frozen=True)
class RouteBudget:
    name: str
    paths: tuple[str, ...]  # a request belongs to the group whose path prefix matches longest
    limit: int


class RouteBudgets:
    """Pure ASGI middleware counting requests in flight per group (one event loop: no lock)."""

    def __init__(
        self, app: ASGIApp, budgets: Sequence[RouteBudget], exempt: Sequence[str] = ()
    ) -> None:
        self._app = app
        self._budgets = list(budgets)
        self._exempt = tuple(exempt)  # async routes that hold no thread (SSE, liveness)
        self._in_flight = {budget.name: 0 for budget in budgets}

    @property
    def total(self) -> int:
        return sum(budget.limit for budget in self._budgets)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        budget = self._budget_for(scope) if scope["type"] == "http" else None
        if budget is None:
            await self._app(scope, receive, send)
            return
        if self._in_flight[budget.name] >= budget.limit:
            problem = Problem(
                503,
                "overloaded",
                "Overloaded",
                f"This gateway instance already handles {budget.limit} {budget.name} requests;"
                " retry after the Retry-After delay.",
                headers={"Retry-After": "1"},
            )
            await problem.response(scope["path"])(scope, receive, send)
            return
        self._in_flight[budget.name] += 1
        try:
            await self._app(scope, receive, send)
        finally:
            self._in_flight[budget.name] -= 1

    def _budget_for(self, scope: Scope) -> RouteBudget | None:
        path: str = scope["path"]
        if path.startswith(self._exempt):
            return None
        matches = [
            (len(prefix), budget)
            for budget in self._budgets
            for prefix in budget.paths
            if path.startswith(prefix)
        ]
        return max(matches, key=lambda match: match[0])[1] if matches else None


def size_thread_pool(threads: int) -> None:
    """Give the sync routes' shared pool room for every budget at once; call on the loop."""
    anyio.to_thread.current_default_thread_limiter().total_tokens = threads
