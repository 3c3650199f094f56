"""Undoing a placed call: stop it the way its state allows.

Twilio's ``Status=canceled`` ends a call that is queued or ringing and leaves a call in
progress up; ``Status=completed`` hangs up a call in progress. So the call's status is read
first and the matching update sent once. A call answered between the read and a cancel is
then hung up. A call that has already ended cannot be undone: nothing is sent.
"""

from __future__ import annotations

import asyncio
from typing import Any

from adapters.http import VendorHttpClient
from gateway.contract import AttemptContext
from gateway.errors import GatewayError, NotCompensable

from .calls import call_result

STOPPABLE = {"queued": "canceled", "ringing": "canceled", "in-progress": "completed"}


async def stop_call(
    client: VendorHttpClient, path: str, sid: str, ctx: AttemptContext
) -> dict[str, Any]:
    """Reads the call at ``path``, then cancels or completes it; the call as Twilio left it,
    with the status it had before (``previous_status``) and the one asked for."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + ctx.timeout_s
    where = f"GET {path}"
    try:
        # A read asks nothing of the call: whatever goes wrong, the undo has not acted yet.
        current = await client.request("GET", path, timeout_s=ctx.timeout_s)
        before = call_result(current.body, where)
    except GatewayError as error:
        error.may_have_acted = False
        raise
    status = str(before.get("status", ""))
    wanted = STOPPABLE.get(status)
    if wanted is None:
        raise NotCompensable(
            f"call {sid} had already ended ({status or 'no status'}) when the undo read it; "
            "a call that has ended cannot be undone, and nothing was sent",
            metadata={"operation": "place_call", "call_status": status},
        )
    after = await _update(client, path, wanted, deadline - loop.time(), ctx)
    if wanted == "canceled" and after.get("status") == "in-progress":
        # Answered after the read: a cancel leaves an answered call up.
        wanted = "completed"
        after = await _update(client, path, wanted, deadline - loop.time(), ctx)
    return {**after, "previous_status": status, "requested_status": wanted}


async def _update(
    client: VendorHttpClient, path: str, status: str, timeout_s: float, ctx: AttemptContext
) -> dict[str, Any]:
    answer = await client.request(
        "POST", path, form=[("Status", status)], timeout_s=timeout_s, contact=ctx.contact
    )
    return call_result(answer.body, f"POST {path}")
