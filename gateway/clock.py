"""Wall-clock timestamps as stored and shown: UTC, RFC 3339, microseconds; and the clocks
one gateway process reads."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime


def utc_now() -> datetime:
    return datetime.now(UTC)


@dataclass(frozen=True)
class Clocks:
    """The time sources of one gateway process: ``wall`` for approvals' deadlines,
    ``monotonic`` for circuit breakers and rate limits. Tests pass clocks they move by hand."""

    wall: Callable[[], datetime] = utc_now
    monotonic: Callable[[], float] = time.monotonic


def to_text(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def from_text(text: str) -> datetime:
    return datetime.strptime(text, "%Y-%m-%dT%H:%M:%S.%fZ").replace(tzinfo=UTC)
