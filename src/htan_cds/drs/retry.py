"""Retry policy shared by the resolver and the byte fetcher: backoff with jitter, Retry-After."""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime

# Statuses worth another try: the server or a proxy in front of it is briefly unhappy.
RETRYABLE_STATUS = frozenset({408, 425, 429, 500, 502, 503, 504})


@dataclass(frozen=True)
class RetryPolicy:
    """How often and how long to retry; delays grow exponentially with full jitter."""

    attempts: int = 6
    base_delay: float = 0.25
    max_delay: float = 20.0
    max_retry_after: float = 120.0

    def backoff(self, attempt: int) -> float:
        """Delay before retry number ``attempt`` (1-based): full jitter below an exponential cap."""
        cap = min(self.max_delay, self.base_delay * (2 ** max(0, attempt - 1)))
        # Full jitter spreads a crowd of clients retrying after one server hiccup.
        return random.uniform(cap / 2, cap)

    def wait_for(self, retry_after: str | None, attempt: int) -> float:
        """The server's ``Retry-After`` when given (capped), else the backoff delay."""
        parsed = parse_retry_after(retry_after)
        if parsed is None:
            return self.backoff(attempt)
        return min(parsed, self.max_retry_after)


def parse_retry_after(value: str | None, *, now: datetime | None = None) -> float | None:
    """Seconds to wait from a ``Retry-After`` header (delta-seconds or an HTTP date)."""
    if value is None:
        return None
    text = value.strip()
    if not text:
        return None
    try:
        return max(0.0, float(text))
    except ValueError:
        pass
    try:
        when = parsedate_to_datetime(text)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    current = now or datetime.now(UTC)
    return max(0.0, (when - current).total_seconds())
