"""Password guessing gets slow: failed logins are limited per account and per address."""

from __future__ import annotations

import threading
import time
from collections import deque

from realnet.runners.http.errors import ApiError

WINDOW = 300.0
PER_ACCOUNT = 5
PER_ADDRESS = 20
TRACKED = 10_000


class LoginLimiter:
    """Failures in a sliding window; a success clears the account's record."""

    def __init__(self, *, window: float = WINDOW, per_account: int = PER_ACCOUNT,
                 per_address: int = PER_ADDRESS, clock=time.monotonic) -> None:
        self.window = window
        self.limits = {"account": per_account, "address": per_address}
        self.clock = clock
        self._failures: dict[tuple[str, str], deque[float]] = {}
        self._lock = threading.Lock()

    def _recent(self, key: tuple[str, str], now: float) -> deque[float]:
        times = self._failures.get(key)
        if times is None:
            return deque()
        while times and times[0] <= now - self.window:
            times.popleft()
        if not times:
            del self._failures[key]
        return times

    def check(self, account: str, address: str) -> None:
        now = self.clock()
        with self._lock:
            for kind, value in (("account", account), ("address", address)):
                times = self._recent((kind, value), now)
                if len(times) >= self.limits[kind]:
                    wait = max(1, int(times[0] + self.window - now) + 1)
                    raise ApiError("rate_limited",
                                   f"login: too many failed attempts for this {kind}; retry in {wait} s",
                                   headers={"Retry-After": str(wait)})

    def failed(self, account: str, address: str) -> None:
        now = self.clock()
        with self._lock:
            while len(self._failures) >= TRACKED:  # bounded memory under a spray of names
                del self._failures[next(iter(self._failures))]
            for key in (("account", account), ("address", address)):
                self._failures.setdefault(key, deque()).append(now)

    def succeeded(self, account: str) -> None:
        with self._lock:
            self._failures.pop(("account", account), None)
