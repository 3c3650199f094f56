"""The gateway's memory over a long run: keyed writes (b-write) at 16 in flight, in two equal
halves, reading the server's resident set after the warm-up and after each half.

    python -m bench.soak                 # 100,000 calls (about four minutes here)
    python -m bench.soak --calls 20000 --no-write

Bounded in count and time; loopback only; prints a Markdown section and writes it to
bench/RESULTS.md (replacing one with the same heading).
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import tempfile
import uuid
from dataclasses import dataclass
from pathlib import Path

from bench.load import drive
from bench.proc_stats import tree_cpu
from bench.processes import LOAD_CORE, pin_this_process, pinned, python_module
from bench.report import machine, write_section
from bench.variants import VARIANTS, BenchEnv
from bench.vendor import SERVING_LINE as VENDOR_SERVING_LINE

RESULTS = Path(__file__).with_name("RESULTS.md")
IN_FLIGHT = 16
MAX_S_PER_HALF = 600.0


@dataclass(frozen=True)
class Reading:
    after: str
    calls: int
    rss_kib: int
    peak_kib: int
    cpu_us_per_call: float | None


def _memory_kib(pid: int) -> tuple[int, int]:
    """VmRSS and VmHWM of one process."""
    fields = dict(
        line.split(":", 1)
        for line in Path(f"/proc/{pid}/status").read_text().splitlines()
        if ":" in line
    )
    return int(fields["VmRSS"].split()[0]), int(fields["VmHWM"].split()[0])


async def soak(calls: int) -> list[Reading]:
    pin_this_process([LOAD_CORE])
    variant = next(v for v in VARIANTS if v.key == "b-write")
    readings: list[Reading] = []
    with tempfile.TemporaryDirectory(prefix="bench-soak-") as scratch:
        async with pinned("vendor", LOAD_CORE, python_module("bench.vendor")) as vendor:
            env = BenchEnv.create(Path(scratch), await vendor.text_after(VENDOR_SERVING_LINE, 30))
            async with variant.server(env) as server, variant.client(env, server) as make:
                if server is None:
                    raise RuntimeError("b-write has no server")
                pid = server.process.pid
                await drive(make("warm"), in_flight=IN_FLIGHT, max_calls=1000, max_s=30)
                readings.append(Reading("warm-up (1,000 calls)", 1000, *_memory_kib(pid), None))
                done = 1000
                for half in (1, 2):
                    before = tree_cpu(pid).total_s
                    window = await drive(
                        make(uuid.uuid4().hex[:12]),
                        in_flight=IN_FLIGHT,
                        max_calls=calls // 2,
                        max_s=MAX_S_PER_HALF,
                    )
                    done += window.calls
                    cpu = (tree_cpu(pid).total_s - before) / window.calls * 1e6
                    readings.append(
                        Reading(
                            f"half {half} ({window.calls:,} calls)", done, *_memory_kib(pid), cpu
                        )
                    )
                    print(f"half {half}: {window.calls} calls", file=sys.stderr)
    return readings


def section(readings: list[Reading], when: str) -> str:
    first_half, second_half = readings[1], readings[2]
    lines = [
        f"## Memory over a long run: keyed writes at {IN_FLIGHT} in flight ({when})",
        "",
        f"- machine: {machine()}",
        "- the gateway as in b-write (full chain, durable audit, a fresh key per call), a fresh "
        "process pinned to core 0; `python -m bench.soak`.",
        "",
        "| after | calls so far | RSS MiB | peak RSS MiB | server CPU µs/call |",
        "| --- | ---: | ---: | ---: | ---: |",
    ]
    for r in readings:
        cpu = f"{r.cpu_us_per_call:.0f}" if r.cpu_us_per_call is not None else "—"
        lines.append(
            f"| {r.after} | {r.calls:,} | {r.rss_kib / 1024:.1f} | {r.peak_kib / 1024:.1f} "
            f"| {cpu} |"
        )
    grown = (second_half.rss_kib - first_half.rss_kib) / 1024
    lines += ["", f"The second half added {grown:+.1f} MiB of resident memory.", ""]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(
        prog="python -m bench.soak", description=__doc__.split("\n")[0]
    )
    parser.add_argument("--calls", type=int, default=100_000, help="calls after the warm-up")
    parser.add_argument("--no-write", action="store_true", help="print only; leave RESULTS.md")
    args = parser.parse_args(argv)
    if args.calls < 2:
        parser.error("--calls must be at least 2")
    from datetime import date

    text = section(asyncio.run(soak(args.calls)), date.today().isoformat())
    print(text)
    if not args.no_write:
        write_section(RESULTS, text)


if __name__ == "__main__":
    main()
