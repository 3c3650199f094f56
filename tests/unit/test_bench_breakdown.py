"""The breakdown's arithmetic: a thread's CPU from /proc, a window's figures per call from the
readings around it, and the statement clock's counts."""

from __future__ import annotations

import os
import threading
import time

import pytest

from bench.breakdown import Breakdown, Counters, report, sample
from bench.proc_stats import thread_cpu_from_stat, thread_cpu_s
from bench.statement_clock import StatementClock

TICKS = os.sysconf("SC_CLK_TCK")


def test_a_threads_cpu_is_read_after_a_name_holding_spaces_and_parentheses() -> None:
    fields = ["S"] + ["0"] * 10 + [str(3 * TICKS), str(TICKS)] + ["0"] * 30
    line = "4242 (python (a) b) " + " ".join(fields)
    assert thread_cpu_from_stat(line) == pytest.approx(4.0)


def test_this_process_threads_are_found_with_the_cpu_they_used() -> None:
    started = time.thread_time()
    while time.thread_time() - started < 0.05:
        pass
    threads = thread_cpu_s(os.getpid())
    assert threading.get_native_id() in threads
    assert threads[threading.get_native_id()] >= 0.04


def test_a_window_splits_the_loops_cpu_from_the_workers_and_the_rest_per_call() -> None:
    pid, worker, other = 100, 101, 102
    before = {pid: 1.0, worker: 0.5, other: 0.1}
    after = {pid: 1.2, worker: 0.52, other: 0.11, 103: 0.01}  # 103 started meanwhile
    counters_before = Counters({"INSERT": 0.01}, {"INSERT": 10}, frozenset({worker}))
    counters_after = Counters(
        {"INSERT": 0.03, "SAVEPOINT": 0.001}, {"INSERT": 210, "SAVEPOINT": 100}, frozenset({worker})
    )
    figures = sample(100, pid, (before, after), (counters_before, counters_after), 0.25)
    assert figures.total_us == pytest.approx(2500)
    assert figures.loop_us == pytest.approx(2000)
    assert figures.workers_us == pytest.approx(200)
    assert figures.other_threads_us == pytest.approx(200)
    assert figures.statements_us == {"INSERT": pytest.approx(200), "SAVEPOINT": pytest.approx(10)}
    assert figures.statements_per_call == {"INSERT": 2.0, "SAVEPOINT": 1.0}

    table = report(Breakdown(16, [400.0, 500.0, 600.0], [figures]))
    assert "| proxy (a′), whole process | 500 | |" in table
    assert "| budget at 1.5× (a′): what the gateway may add | 250 | |" in table
    assert "|   - SQLite: INSERT | 200 | 2.00 |" in table
    assert "|   - everything else on the loop's thread | 1790 | |" in table
    assert "| SQLite in all (statements, commits) | 410 | |" in table
    # 2500 in all, 410 of it SQLite, against 500 for the proxy.
    assert "Gateway / (a′): 5.0×; without its SQLite work: 4.2×; its SQLite work alone: 0.82×" in (
        table
    )


def test_the_statement_clock_counts_by_first_word_and_survives_a_round_trip() -> None:
    clock = StatementClock()
    clock.add("INSERT", 0.002)
    clock.add("INSERT", 0.001)
    clock.note_worker()
    counters = Counters.parse(clock.as_json())
    assert counters.cpu_s == {"INSERT": pytest.approx(0.003)}
    assert counters.count == {"INSERT": 2}
    assert counters.worker_tids == frozenset({threading.get_native_id()})
