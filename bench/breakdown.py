"""Where a governed write's server CPU goes, beside the cheapest proxy's, in one run.

    python -m bench.breakdown [--in-flight 16 1] [--pairs 8] [--window-s 1.5]

Starts the loopback vendor, the proxy (a') and the gateway (``bench.statement_clock``: its
SQLite statements timed) and measures them in alternating windows of keyed writes (the
gateway) and reads (the proxy). For each window it reads the CPU of every thread of the
gateway from /proc: the event loop's thread (split into SQLite statements, commits run on
the loop, and the rest: the governance chain, grpc and aiohttp in Python), the SQLite
connections' workers (the commits' fsyncs, checkpoints) and the other threads (grpc's
core). Medians over the windows, in microseconds of CPU per call, and the budget the
target of 1.5x the proxy leaves the gateway, as a section of RESULTS.md (replacing the
section of the same day; ``--no-write`` only prints it).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import signal
import statistics
import tempfile
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from pathlib import Path

from bench.load import drive
from bench.proc_stats import thread_cpu_s, tree_cpu
from bench.processes import (
    LOAD_CORE,
    SERVER_CORE,
    Pinned,
    free_port,
    pin_this_process,
    pinned,
    python_module,
    seconds_to_serving,
)
from bench.report import machine, write_section
from bench.side_by_side import compile_bytecode
from bench.variants import VARIANTS, BenchEnv, Calls, Server
from bench.vendor import SERVING_LINE as VENDOR_SERVING_LINE
from gateway.methods import CONNECTOR_SERVICE

RESULTS = Path(__file__).with_name("RESULTS.md")
WARMUP_CALLS = 1000
TARGET_RATIO = 1.5


@dataclass(frozen=True)
class Counters:
    """What ``bench.statement_clock`` counted so far."""

    cpu_s: Mapping[str, float]
    count: Mapping[str, int]
    worker_tids: frozenset[int]

    @classmethod
    def parse(cls, text: str) -> Counters:
        data = json.loads(text)
        return cls(data["cpu_s"], data["count"], frozenset(data["worker_tids"]))


@dataclass(frozen=True)
class Sample:
    """One window of the gateway, per call: CPU by part, statements by kind."""

    total_us: float
    loop_us: float
    statements_us: Mapping[str, float]
    statements_per_call: Mapping[str, float]
    workers_us: float
    other_threads_us: float


def sample(
    calls: int,
    pid: int,
    threads: tuple[Mapping[int, float], Mapping[int, float]],
    counters: tuple[Counters, Counters],
    total_s: float,
) -> Sample:
    """The per-call figures of a window from the readings before and after it."""
    before, after = threads
    spent = {tid: after[tid] - before.get(tid, 0.0) for tid in after}
    workers = counters[1].worker_tids
    per_call = 1e6 / calls
    kinds = counters[1].cpu_s.keys()
    return Sample(
        total_us=total_s * per_call,
        loop_us=spent.get(pid, 0.0) * per_call,
        statements_us={
            kind: (counters[1].cpu_s[kind] - counters[0].cpu_s.get(kind, 0.0)) * per_call
            for kind in kinds
        },
        statements_per_call={
            kind: (counters[1].count[kind] - counters[0].count.get(kind, 0)) / calls
            for kind in kinds
        },
        workers_us=sum(s for tid, s in spent.items() if tid in workers) * per_call,
        other_threads_us=sum(s for tid, s in spent.items() if tid != pid and tid not in workers)
        * per_call,
    )


def _read_counters(path: Path) -> Counters | None:
    try:
        return Counters.parse(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return None


async def _counters(process: Pinned, path: Path) -> Counters:
    """Asks the gateway for its counters (SIGUSR1) and reads them once written."""
    path.unlink(missing_ok=True)  # noqa: ASYNC240 - a small local file, between windows
    os.kill(process.pid, signal.SIGUSR1)
    for _ in range(200):
        counters = _read_counters(path)
        if counters is not None:
            return counters
        await asyncio.sleep(0.01)
    raise RuntimeError(f"the gateway wrote no counters to {path}:\n{process.output}")


async def _proxy_window(process: Pinned, calls: Calls, in_flight: int, window_s: float) -> float:
    before = tree_cpu(process.pid).total_s
    window = await drive(
        calls(uuid.uuid4().hex[:12]), in_flight=in_flight, max_calls=10**7, max_s=window_s
    )
    return (tree_cpu(process.pid).total_s - before) / window.calls * 1e6


async def _gateway_window(
    process: Pinned, calls: Calls, in_flight: int, window_s: float, counters_path: Path
) -> Sample:
    counters_before = await _counters(process, counters_path)
    threads_before = thread_cpu_s(process.pid)
    total_before = tree_cpu(process.pid).total_s
    window = await drive(
        calls(uuid.uuid4().hex[:12]), in_flight=in_flight, max_calls=10**7, max_s=window_s
    )
    total_s = tree_cpu(process.pid).total_s - total_before
    threads_after = thread_cpu_s(process.pid)
    counters_after = await _counters(process, counters_path)
    return sample(
        window.calls,
        process.pid,
        (threads_before, threads_after),
        (counters_before, counters_after),
        total_s,
    )


@dataclass(frozen=True)
class Breakdown:
    in_flight: int
    proxy_us: list[float]
    gateway: list[Sample]


async def measure(in_flights: Sequence[int], pairs: int, window_s: float) -> list[Breakdown]:
    variants = {v.key: v for v in VARIANTS}
    proxy, write = variants["a'"], variants["b-write"]
    pin_this_process([LOAD_CORE])
    found: list[Breakdown] = []
    with tempfile.TemporaryDirectory(prefix="bench-breakdown-") as scratch:
        counters_path = Path(scratch) / "counters.json"
        async with pinned("vendor", LOAD_CORE, python_module("bench.vendor")) as vendor:
            vendor_url = await vendor.text_after(VENDOR_SERVING_LINE, 30)
            env = BenchEnv.create(Path(scratch), vendor_url)
            port = free_port()
            command = python_module(
                "bench.statement_clock", str(env.gateway_config(port)), str(counters_path)
            )
            address = f"127.0.0.1:{port}"
            async with (
                proxy.server(env) as proxy_server,
                pinned("gateway", SERVER_CORE, command) as gateway,
            ):
                seconds = await seconds_to_serving(gateway, address, CONNECTOR_SERVICE)
                assert proxy_server is not None
                async with (
                    proxy.client(env, proxy_server) as proxy_calls,
                    write.client(env, Server(gateway, address, seconds)) as write_calls,
                ):
                    for in_flight in in_flights:
                        for calls in (proxy_calls, write_calls):
                            await drive(
                                calls(f"warm{in_flight}"),
                                in_flight=in_flight,
                                max_calls=WARMUP_CALLS,
                                max_s=5,
                            )
                        result = Breakdown(in_flight, [], [])
                        for _ in range(pairs):
                            result.proxy_us.append(
                                await _proxy_window(
                                    proxy_server.process, proxy_calls, in_flight, window_s
                                )
                            )
                            result.gateway.append(
                                await _gateway_window(
                                    gateway, write_calls, in_flight, window_s, counters_path
                                )
                            )
                        found.append(result)
    return found


def report(breakdown: Breakdown) -> str:
    """A Markdown table of the medians, in microseconds of CPU per call."""
    samples = breakdown.gateway
    median = statistics.median
    proxy = median(breakdown.proxy_us)
    # Statements the call runs (not those of start-up, such as PRAGMA, or of pruning).
    kinds = sorted(
        k
        for k in {k for s in samples for k in s.statements_us}
        if median([s.statements_per_call.get(k, 0.0) for s in samples]) >= 0.01
    )
    statements = median([sum(s.statements_us.values()) for s in samples])
    loop = median([s.loop_us for s in samples])
    workers = median([s.workers_us for s in samples])
    lines = [
        f"b-write at {breakdown.in_flight} in flight, {len(samples)} windows each "
        "(medians, µs of server CPU per call):",
        "",
        "| part | µs per call | statements per call |",
        "| --- | ---: | ---: |",
        f"| proxy (a′), whole process | {proxy:.0f} | |",
        f"| budget at {TARGET_RATIO}× (a′): what the gateway may add | "
        f"{(TARGET_RATIO - 1) * proxy:.0f} | |",
        f"| gateway, whole process | {median([s.total_us for s in samples]):.0f} | |",
        f"| - event loop's thread | {loop:.0f} | |",
    ]
    lines += [
        f"|   - SQLite: {kind} | {median([s.statements_us.get(kind, 0.0) for s in samples]):.0f}"
        f" | {median([s.statements_per_call.get(kind, 0.0) for s in samples]):.2f} |"
        for kind in kinds
    ]
    lines += [
        f"|   - everything else on the loop's thread | {loop - statements:.0f} | |",
        f"| - SQLite workers (commits, checkpoints) | {workers:.0f} | |",
        f"| - other threads (grpc's core) | {median([s.other_threads_us for s in samples]):.0f}"
        " | |",
        f"| SQLite in all (statements, commits) | {statements + workers:.0f} | |",
    ]
    total = median([s.total_us for s in samples])
    lines += [
        "",
        f"Gateway / (a′): {total / proxy:.1f}×; without its SQLite work: "
        f"{(total - statements - workers) / proxy:.1f}×; its SQLite work alone: "
        f"{(statements + workers) / proxy:.2f}× (a′).",
    ]
    return "\n".join(lines)


def section(breakdowns: Sequence[Breakdown], when: str) -> str:
    parts = [
        f"## Where a keyed write's server CPU goes ({when})",
        "",
        f"- machine: {machine()}",
        "- `python -m bench.breakdown`: the proxy (a′) and the gateway as in b-write, each a "
        "fresh process pinned to core 0, measured in alternating windows; CPU per thread from "
        "/proc, the SQLite statements timed on the calling thread by their first word "
        "(`bench.statement_clock`, about a microsecond a statement).",
        "",
    ]
    for breakdown in breakdowns:
        parts += [report(breakdown), ""]
    return "\n".join(parts)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.breakdown", description=__doc__)
    parser.add_argument("--in-flight", type=int, nargs="+", default=[16, 1])
    parser.add_argument("--pairs", type=int, default=8)
    parser.add_argument("--window-s", type=float, default=1.5)
    parser.add_argument("--no-write", action="store_true", help="print only; leave RESULTS.md")
    args = parser.parse_args(argv)
    if args.pairs < 1 or args.window_s <= 0:
        parser.error("--pairs and --window-s must be positive")
    compile_bytecode()
    breakdowns = asyncio.run(measure(args.in_flight, args.pairs, args.window_s))
    text = section(breakdowns, date.today().isoformat())
    print(text)
    if not args.no_write:
        write_section(RESULTS, text)


if __name__ == "__main__":
    main()
