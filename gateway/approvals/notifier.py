"""Wakes the watchers of an approval when the store changes it.

The store calls :meth:`ApprovalNotifier.notify` after every committed change, so no caller of
the store has to remember to. It knows only this process's changes: a watcher also re-reads
now and then for changes made by another process sharing the database.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from contextlib import contextmanager


class ApprovalNotifier:
    def __init__(self) -> None:
        self._watching: dict[str, set[asyncio.Event]] = {}

    @contextmanager
    def watching(self, approval_id: str) -> Iterator[asyncio.Event]:
        """An event set by every change of the approval while the block runs.

        Enter it before reading the approval, and clear the event before each read, so that a
        change between a read and the wait that follows is not missed."""
        event = asyncio.Event()
        self._watching.setdefault(approval_id, set()).add(event)
        try:
            yield event
        finally:
            events = self._watching.get(approval_id)
            if events is not None:
                events.discard(event)
                if not events:
                    del self._watching[approval_id]

    def notify(self, approval_id: str) -> None:
        for event in self._watching.get(approval_id, ()):
            event.set()

    @property
    def watched(self) -> int:
        """How many approvals are being watched (each watch ends, and leaves nothing behind)."""
        return len(self._watching)
