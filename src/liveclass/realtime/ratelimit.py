"""A token bucket per connection: ``rate`` messages a second on average, bursts up to ``burst``."""

from __future__ import annotations

import time


class TokenBucket:
    def __init__(self, *, rate: float, burst: int) -> None:
        self.rate = rate
        self.burst = float(burst)
        self._tokens = float(burst)
        self._last = time.monotonic()
        # Consecutive refusals: a client that keeps pushing past the limit is flooding.
        self.refused_in_a_row = 0

    def allow(self) -> bool:
        now = time.monotonic()
        self._tokens = min(self.burst, self._tokens + (now - self._last) * self.rate)
        self._last = now
        if self._tokens >= 1.0:
            self._tokens -= 1.0
            self.refused_in_a_row = 0
            return True
        self.refused_in_a_row += 1
        return False
