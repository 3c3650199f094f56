"""Steps that must not stop half-way when the coroutine awaiting them is cancelled.

A cancellation (the caller went away, or the deadline's backstop fired) reaches whatever the
call is awaiting. Some steps must not be cut there: work handed to a database's worker thread
(a commit) runs there whatever becomes of the caller, so what the gateway believes about a
transaction must follow it; and the record of an action's outcome must be written before the
answer that names it leaves.
"""

from __future__ import annotations

import asyncio
from collections.abc import Coroutine
from typing import Any, TypeVar

T = TypeVar("T")


async def to_the_end(step: Coroutine[Any, Any, T]) -> T:
    """Runs ``step`` in its own task to its end, and only then lets a cancellation of the
    caller that arrived meanwhile go on. The step's own failure is raised as usual."""
    task = asyncio.ensure_future(step)
    cancelled: asyncio.CancelledError | None = None
    while True:
        try:
            result = await asyncio.shield(task)
        except asyncio.CancelledError as error:
            if task.cancelled():  # the step itself was cancelled (the loop is closing)
                raise
            cancelled = error
            continue
        break
    if cancelled is not None:
        raise cancelled
    return result
