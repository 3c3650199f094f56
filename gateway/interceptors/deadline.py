"""Deadline: the gateway works to the caller's deadline minus a reserve.

The reserve leaves time to make the outcome row durable and to send a precise status (with
the attempts made) before the caller's own timer fires. Calls without a deadline get the
configured maximum. The servicer bounds each attempt by this deadline and by the connector's
per-attempt timeout; the timeout here is only a backstop.
"""

from __future__ import annotations

import asyncio
import time

from google.protobuf.message import Message

from gateway.call import Call, Context, Deadline
from gateway.errors import DeadlineExceeded, OutcomeUnknown
from gateway.interceptors.base import Next


class DeadlineLayer:
    name = "deadline"

    def __init__(self, reserve_ms: int, max_call_ms: int) -> None:
        self._reserve_s = reserve_ms / 1000
        self._max_s = max_call_ms / 1000

    async def intercept(self, call: Call, call_next: Next, ctx: Context) -> Message:
        remaining = ctx.time_remaining()
        budget = self._max_s if remaining is None else min(remaining - self._reserve_s, self._max_s)
        if budget <= 0:
            raise DeadlineExceeded(
                "the call's deadline leaves no time to act; set a longer deadline",
                metadata={"attempts": "0"},
            )
        deadline = Deadline(expires_at=time.monotonic() + budget)
        try:
            async with asyncio.timeout_at(deadline.expires_at + self._reserve_s / 2):
                return await call_next(call.with_(deadline=deadline))
        except TimeoutError:
            facts = call.facts
            attempts = str(facts.attempts)
            # A read acts on nothing: whatever reached the vendor, only the answer is missing.
            if facts.vendor_contacted and not _reads(call):
                raise OutcomeUnknown(
                    "the deadline ran out while the vendor was handling the request; "
                    "its outcome is unknown",
                    metadata={"attempts": attempts, **_learned(call)},
                ) from None
            if facts.vendor_contacted:
                raise DeadlineExceeded(
                    "the deadline ran out before the vendor answered",
                    metadata={"attempts": attempts},
                ) from None
            raise DeadlineExceeded(
                "the deadline ran out before the vendor acted", metadata={"attempts": attempts}
            ) from None


def _reads(call: Call) -> bool:
    return call.target is not None and call.target.operation.read_only


def _learned(call: Call) -> dict[str, str]:
    """What the servicer's own OUTCOME_UNKNOWN names, as far as the call has learned it: the
    connector, and for Execute the execution operators find it under (a compensation's
    facts name the execution it undoes, not its own)."""
    facts = call.facts
    learned = {"connector_key": facts.connector_key}
    if call.rule.acts and not call.rule.compensates:
        learned["execution_id"] = facts.execution_id
    return {key: value for key, value in learned.items() if value}
