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
    """``2026-12-01T20:30:01.123456Z``: sortable as text, which the stores rely on."""
    utc = moment if moment.tzinfo is UTC else moment.astimezone(UTC)
    return utc.replace(tzinfo=None).isoformat(timespec="microseconds") + "Z"


def from_text(text: str) -> datetime:
    """The moment ``to_text`` wrote (parsing ISO 8601 in C: stores read many of them)."""
    moment = datetime.fromisoformat(text)
    return moment if moment.tzinfo is UTC else moment.astimezone(UTC)
