"""The login rate limiter on its own, with a clock the test moves: a sliding window of
failures per account and per address, a success clearing the account, bounded memory."""

from __future__ import annotations

import pytest

from realnet.runners.http import login
from realnet.runners.http.errors import ApiError
from realnet.runners.http.login import LoginLimiter


class Clock:
    def __init__(self, now: float = 1000.0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def limiter(clock) -> LoginLimiter:
    return LoginLimiter(window=300.0, per_account=5, per_address=20, clock=clock)


def refused(limiter: LoginLimiter, account: str, address: str) -> ApiError:
    with pytest.raises(ApiError) as info:
        limiter.check(account, address)
    error = info.value
    assert (error.code, error.status) == ("rate_limited", 429)
    return error


def retry_after(error: ApiError) -> int:
    return int(error.headers["Retry-After"])


def fail(limiter: LoginLimiter, account: str, address: str, times: int = 1) -> None:
    for _ in range(times):
        limiter.check(account, address)
        limiter.failed(account, address)


def test_the_sixth_attempt_of_an_account_is_refused(limiter):
    fail(limiter, "alice", "10.0.0.1", 5)
    error = refused(limiter, "alice", "10.0.0.1")
    assert "too many failed attempts for this account" in str(error)
    assert str(retry_after(error)) in str(error)
    limiter.check("bob", "10.0.0.1")  # another account from the same address is fine


def test_four_failures_are_not_enough(limiter):
    fail(limiter, "alice", "10.0.0.1", 4)
    limiter.check("alice", "10.0.0.1")


def test_the_account_limit_holds_across_addresses(limiter):
    for n in range(5):
        fail(limiter, "alice", f"10.0.0.{n}")
    error = refused(limiter, "alice", "192.168.1.1")
    assert "account" in str(error)


def test_the_address_limit_holds_across_accounts(limiter):
    for n in range(20):
        fail(limiter, f"user{n}", "10.0.0.1")
    error = refused(limiter, "someone-new", "10.0.0.1")
    assert "too many failed attempts for this address" in str(error)
    limiter.check("someone-new", "10.0.0.2")


def test_failures_expire_after_the_window(limiter, clock):
    fail(limiter, "alice", "a1", 5)
    clock.now += 299.9
    refused(limiter, "alice", "a1")
    clock.now += 0.1  # exactly one window after the failures
    limiter.check("alice", "a1")


def test_the_window_slides(limiter, clock):
    for _ in range(5):  # failures at t, t+60, … t+240
        fail(limiter, "alice", "a1")
        clock.now += 60
    # now t+300: the first failure has left the window, four remain.
    limiter.check("alice", "a1")
    limiter.failed("alice", "a1")
    refused(limiter, "alice", "a1")
    clock.now += 60  # the second leaves too
    limiter.check("alice", "a1")


@pytest.mark.parametrize("elapsed", [0.0, 1.5, 100.0, 250.25, 299.0, 299.99])
def test_retry_after_is_enough_and_not_much_more(limiter, clock, elapsed):
    start = clock.now
    fail(limiter, "alice", "a1", 5)
    clock.now = start + elapsed
    wait = retry_after(refused(limiter, "alice", "a1"))
    remaining = 300.0 - elapsed
    assert wait >= 1
    assert remaining <= wait <= remaining + 1
    clock.now += wait
    limiter.check("alice", "a1")  # after waiting as told, it goes through


def test_a_success_clears_the_account_but_not_the_address(limiter):
    fail(limiter, "alice", "a1", 4)
    for n in range(15):
        fail(limiter, f"other{n}", "a1")
    limiter.succeeded("alice")
    fail(limiter, "alice", "a2", 4)
    limiter.check("alice", "a2")
    # a1 has 19 failures; one more and it is refused, whoever signs in from it.
    fail(limiter, "alice", "a1")
    refused(limiter, "carol", "a1")


def test_a_success_for_one_account_leaves_others_limited(limiter):
    fail(limiter, "alice", "a1", 5)
    fail(limiter, "bob", "a2", 1)
    limiter.succeeded("bob")
    refused(limiter, "alice", "a1")


def test_unknown_accounts_are_counted_like_known_ones(limiter):
    fail(limiter, "no-such-user", "a1", 5)
    refused(limiter, "no-such-user", "a1")


def test_checking_does_not_count(limiter):
    for _ in range(100):
        limiter.check("alice", "a1")
    fail(limiter, "alice", "a1", 4)
    limiter.check("alice", "a1")


def test_memory_stays_bounded_under_a_spray_of_names(limiter, clock):
    """Distinct accounts from distinct addresses, more than the limiter tracks: the
    records it keeps stay bounded, and recent failures still count."""
    for n in range(3 * login.TRACKED):
        limiter.failed(f"user{n}", f"10.{n // 65536}.{n // 256 % 256}.{n % 256}")
    assert len(limiter._failures) <= login.TRACKED + 1  # one failure adds two records
    fail(limiter, "alice", "a1", 5)
    refused(limiter, "alice", "a1")


def test_expired_records_are_dropped_when_looked_at(limiter, clock):
    fail(limiter, "alice", "a1", 3)
    clock.now += 301
    limiter.check("alice", "a1")
    assert ("account", "alice") not in limiter._failures
    assert ("address", "a1") not in limiter._failures


def test_the_defaults_are_the_documented_limits():
    limiter = LoginLimiter(clock=Clock())
    for n in range(5):
        limiter.failed("alice", f"a{n}")
    refused(limiter, "alice", "a9")
    limiter = LoginLimiter(clock=Clock())
    for n in range(20):
        limiter.failed(f"u{n}", "a1")
    refused(limiter, "u99", "a1")
    assert (login.WINDOW, login.PER_ACCOUNT, login.PER_ADDRESS) == (300.0, 5, 20)


# -- attempt(): counted before the slow password check ends ---------------------------------


def test_attempts_count_before_they_end(limiter):
    """Five guesses in flight at once (none has failed yet): the sixth is refused."""
    for _ in range(5):
        limiter.attempt("alice", "a1")
    error = refused(limiter, "alice", "a1")
    assert "account" in str(error)
    with pytest.raises(ApiError):
        limiter.attempt("alice", "a1")


def test_a_refused_attempt_is_not_counted(limiter, clock):
    for _ in range(5):
        limiter.attempt("alice", "a1")
    for _ in range(50):
        with pytest.raises(ApiError):
            limiter.attempt("alice", "a1")
    # Had the refusals counted, the address (limit 20) would be refused for everyone.
    limiter.check("bob", "a1")
    clock.now += 300
    limiter.attempt("alice", "a1")


def test_a_successful_attempt_is_taken_back(limiter, clock):
    for n in range(19):
        limiter.attempt(f"guess{n}", "a1")
        clock.now += 1
    ticket = limiter.attempt("alice", "a1")  # the 20th attempt from a1 …
    limiter.succeeded("alice", "a1", ticket)  # … was the right password
    limiter.attempt("carol", "a1")  # so a1 has one more to go
    refused(limiter, "dave", "a1")


def test_success_clears_the_account_of_earlier_attempts(limiter):
    for _ in range(4):
        limiter.attempt("alice", "a1")
    ticket = limiter.attempt("alice", "a1")
    limiter.succeeded("alice", "a1", ticket)
    for _ in range(5):
        limiter.attempt("alice", "a1")
    refused(limiter, "alice", "a1")


def test_taking_back_an_expired_or_foreign_ticket_is_harmless(limiter, clock):
    ticket = limiter.attempt("alice", "a1")
    clock.now += 400
    limiter.check("alice", "a1")  # the record has expired and is gone
    limiter.succeeded("alice", "a1", ticket)
    limiter.succeeded("alice", "never-seen", ticket)
    limiter.succeeded("alice", "a1", 12345.0)
    limiter.succeeded("nobody")
    limiter.attempt("alice", "a1")


def test_tickets_of_simultaneous_attempts_are_taken_back_one_at_a_time(limiter):
    """Two attempts at the same instant carry the same ticket; one success removes one."""
    first = limiter.attempt("alice", "a1")
    second = limiter.attempt("bob", "a1")
    assert first == second
    for n in range(17):
        limiter.attempt(f"u{n}", "a1")
    limiter.succeeded("alice", "a1", first)  # 19 − 1 = 18 counted from a1
    limiter.attempt("carol", "a1")
    limiter.attempt("dave", "a1")  # 20
    refused(limiter, "erin", "a1")
