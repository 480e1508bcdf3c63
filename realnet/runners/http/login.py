"""Password guessing gets slow: failed logins are limited per account and per address."""

from __future__ import annotations

import threading
import time
from collections import deque
from contextlib import suppress

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

    def attempt(self, account: str, address: str) -> float:
        """Check the limits, then count this attempt as failed until it succeeds: guesses
        sent all at once count before any of their (slow) password checks ends."""
        with self._lock:
            self._check(account, address, self.clock())
            return self._record(account, address)

    def check(self, account: str, address: str) -> None:
        with self._lock:
            self._check(account, address, self.clock())

    def _check(self, account: str, address: str, now: float) -> None:
        for kind, value in (("account", account), ("address", address)):
            times = self._recent((kind, value), now)
            if len(times) >= self.limits[kind]:
                wait = max(1, int(times[0] + self.window - now) + 1)
                raise ApiError("rate_limited",
                               f"login: too many failed attempts for this {kind}; retry in {wait} s",
                               headers={"Retry-After": str(wait)})

    def failed(self, account: str, address: str) -> None:
        with self._lock:
            self._record(account, address)

    def _record(self, account: str, address: str) -> float:
        now = self.clock()
        while len(self._failures) >= TRACKED:  # bounded memory under a spray of names
            del self._failures[next(iter(self._failures))]
        for key in (("account", account), ("address", address)):
            self._failures.setdefault(key, deque()).append(now)
        return now

    def succeeded(self, account: str, address: str | None = None, ticket: float | None = None) -> None:
        """Clear the account's failures, and take back the address's count of this attempt."""
        with self._lock:
            self._failures.pop(("account", account), None)
            times = self._failures.get(("address", address)) if address is not None else None
            if times is not None and ticket is not None:
                with suppress(ValueError):
                    times.remove(ticket)
