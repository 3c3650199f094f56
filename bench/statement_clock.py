"""The gateway with a clock on its SQLite statements, for ``bench.breakdown``; until SIGTERM.

    python -m bench.statement_clock CONFIG COUNTERS

Runs ``bench.serve_gateway`` with the store's statements timed: the CPU time of the calling
thread (``time.thread_time``) spent in each statement by its first word (INSERT, SAVEPOINT,
...), in batches of rows (``executemany``), and in commits run on the loop's thread. It also
notes the thread ids of the connections' workers (their commits and checkpoints), so that
the breakdown can tell their CPU from the loop's. SIGUSR1 writes the counters, as JSON, to
COUNTERS. The clock costs about a microsecond a statement; the breakdown reports it beside
the figures it measures.
"""

from __future__ import annotations

import json
import signal
import sys
import threading
import time
from collections.abc import Iterable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from types import FrameType
from typing import Any

from bench import serve_gateway
from gateway.store import sqlite

INLINE_COMMIT = "COMMIT ON THE LOOP"
ROW_BATCH = "ROWS (executemany)"


class StatementClock:
    """CPU seconds and counts of the statements run through ``gateway.store.sqlite``."""

    def __init__(self) -> None:
        self.cpu_s: dict[str, float] = {}
        self.count: dict[str, int] = {}
        self.worker_tids: set[int] = set()

    def install(self) -> None:
        clock = self
        execute, executemany = sqlite.Connection.execute, sqlite.Connection.executemany
        commit_here, init = sqlite.Connection.commit_here, sqlite.Connection.__init__

        def timed_execute(self: sqlite.Connection, sql: str, params: Any = ()) -> Any:
            started = time.thread_time()
            try:
                return execute(self, sql, params)
            finally:
                clock.add(sql.split(None, 1)[0].upper(), time.thread_time() - started)

        def timed_executemany(self: sqlite.Connection, sql: str, rows: Iterable[Any]) -> Any:
            started = time.thread_time()
            try:
                return executemany(self, sql, rows)
            finally:
                clock.add(ROW_BATCH, time.thread_time() - started)

        def timed_commit_here(self: sqlite.Connection) -> None:
            started = time.thread_time()
            try:
                commit_here(self)
            finally:
                clock.add(INLINE_COMMIT, time.thread_time() - started)

        def noted_init(self: sqlite.Connection, conn: Any) -> None:
            init(self, conn)
            self._worker = ThreadPoolExecutor(
                max_workers=1, thread_name_prefix="sqlite", initializer=clock.note_worker
            )

        sqlite.Connection.execute = timed_execute  # type: ignore[method-assign]
        sqlite.Connection.executemany = timed_executemany  # type: ignore[method-assign]
        sqlite.Connection.commit_here = timed_commit_here  # type: ignore[method-assign]
        sqlite.Connection.__init__ = noted_init  # type: ignore[method-assign]

    def add(self, kind: str, cpu_s: float) -> None:
        self.cpu_s[kind] = self.cpu_s.get(kind, 0.0) + cpu_s
        self.count[kind] = self.count.get(kind, 0) + 1

    def note_worker(self) -> None:
        self.worker_tids.add(threading.get_native_id())

    def as_json(self) -> str:
        return json.dumps(
            {"cpu_s": self.cpu_s, "count": self.count, "worker_tids": sorted(self.worker_tids)}
        )


def main() -> None:
    config, counters = sys.argv[1], Path(sys.argv[2])
    clock = StatementClock()
    clock.install()

    def write_counters(signum: int, frame: FrameType | None) -> None:
        counters.with_suffix(".tmp").write_text(clock.as_json(), encoding="utf-8")
        counters.with_suffix(".tmp").replace(counters)

    signal.signal(signal.SIGUSR1, write_counters)
    sys.argv = [sys.argv[0], config]
    serve_gateway.main()


if __name__ == "__main__":
    main()
