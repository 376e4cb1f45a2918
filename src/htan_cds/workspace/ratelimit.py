"""A sliding-window limit on imported files (CGC: 500 files per 5 minutes).

Used on both sides: the workspace refuses submissions past the limit (SB's 429, code 1000) and
the ``cgc:`` destination paces its batches so it never meets that refusal.
"""

from __future__ import annotations

import threading
import time
from collections import deque
from collections.abc import Callable


class SlidingWindow:
    """At most ``limit`` units in any ``window`` seconds; ``clock``/``sleep`` injectable."""

    def __init__(
        self,
        limit: int,
        window: float,
        *,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        if limit <= 0 or window <= 0:
            raise ValueError("limit and window must be positive")
        self.limit = limit
        self.window = window
        self._clock = clock
        self._sleep = sleep
        self._events: deque[tuple[float, int]] = deque()
        self._lock = threading.Lock()

    def _expire(self, now: float) -> None:
        while self._events and self._events[0][0] <= now - self.window:
            self._events.popleft()

    def used(self) -> int:
        """Units admitted within the current window."""
        with self._lock:
            self._expire(self._clock())
            return sum(n for _, n in self._events)

    def delay_for(self, n: int) -> float:
        """Seconds to wait before ``n`` more units fit (0 when they fit now)."""
        if n > self.limit:
            raise ValueError(f"{n} units can never fit a limit of {self.limit}")
        with self._lock:
            now = self._clock()
            self._expire(now)
            return delay_for(list(self._events), n, self.limit, self.window, now)

    def wait(self, n: int) -> float:
        """Sleep until ``n`` more units fit (recording nothing); return the seconds waited."""
        waited = 0.0
        while (delay := self.delay_for(n)) > 0:
            self._sleep(delay)
            waited += delay
        return waited

    def record(self, n: int) -> None:
        """Count ``n`` units as used now."""
        with self._lock:
            self._events.append((self._clock(), n))

    def acquire(self, n: int) -> float:
        """Wait until ``n`` units fit, record them, return the seconds waited."""
        waited = self.wait(n)
        self.record(n)
        return waited

    def penalise(self, seconds: float) -> None:
        """Treat the window as full for ``seconds`` (after the server said 429)."""
        with self._lock:
            self._events.append((self._clock() + seconds - self.window, self.limit))


def delay_for(
    events: list[tuple[float, int]], n: int, limit: int, window: float, now: float
) -> float:
    """Seconds from ``now`` until ``n`` more units fit given past ``(at, units)`` events."""
    used = sum(k for at, k in events if at > now - window)
    if used + n <= limit:
        return 0.0
    # Free the oldest events until enough room remains; the last one freed sets the wait.
    excess = used + n - limit
    for at, k in sorted(e for e in events if e[0] > now - window):
        excess -= k
        if excess <= 0:
            return max(at + window - now, 0.0) + 1e-3
    return window
