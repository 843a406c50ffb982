"""A token bucket per connection: ``rate`` messages a second on average, bursts up to ``burst``."""

from __future__ import annotations

import time
from collections import deque


class TokenBucket:
    def __init__(self, *, rate: float, burst: int) -> None:
        self.rate = rate
        self.burst = float(burst)
        self._tokens = float(burst)
        self._last = time.monotonic()
        # When the latest refusals happened. Counting refusals "in a row" missed floods: the
        # bucket refills between messages, so one message in every few gets through and the
        # streak restarts (a candidate flood at 1000/s against 200/s never closed).
        self._refusals: deque[float] = deque(maxlen=burst + 1)

    def allow(self) -> bool:
        now = time.monotonic()
        self._tokens = min(self.burst, self._tokens + (now - self._last) * self.rate)
        self._last = now
        if self._tokens >= 1.0:
            self._tokens -= 1.0
            return True
        self._refusals.append(now)
        return False

    @property
    def flooding(self) -> bool:
        """More than a burst's worth refused within the time the bucket takes to refill:
        the client keeps sending at over twice the rate, whatever the timing in between."""
        refusals = self._refusals
        return (
            len(refusals) == refusals.maxlen
            and refusals[-1] - refusals[0] <= self.burst / self.rate
        )
