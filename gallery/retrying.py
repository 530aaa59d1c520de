"""When to try again: exponential back-off for the tasks that talk to other machines.

The domain decides whether and when (`Retry`); the task only schedules the next attempt.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Retry:
    """Try again as attempt `attempt + 1`, `delay` seconds from now."""

    attempt: int
    delay: float


def backoff(attempt: int, *, base: float, cap: float | None = None) -> Retry:
    """base, 2·base, 4·base... after the 1st, 2nd, 3rd attempt; never more than `cap`."""
    delay = base * (2 ** min(attempt - 1, 30))
    return Retry(attempt=attempt, delay=min(delay, cap) if cap is not None else delay)
