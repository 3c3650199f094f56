"""Measures the governed call side by side with the cheapest proxies of the same API.

Each server runs in its own process on core 0; the load generator and a loopback aiohttp
vendor run on core 1. Every window is bounded in calls and in time, and everything the bench
starts is stopped when it ends. Prints a Markdown section and puts it into bench/RESULTS.md
(replacing the section of the same day).

    make bench                               # 3 rounds, 1 and 16 calls in flight, ~3 minutes
    python -m bench --rounds 5 --window-s 8
    python -m bench --profile                # then py-spy on (b-write) and (a') under load
    python -m bench --variants a b-read --rounds 1 --no-write
"""

from __future__ import annotations

import argparse
import asyncio
import sys
from pathlib import Path

from bench.report import section, write_section
from bench.side_by_side import Options, run
from bench.variants import VARIANTS

RESULTS = Path(__file__).with_name("RESULTS.md")
PROFILED = ("b-write", "a'")  # where (b) spends what (a') does not


def options_from(argv: list[str] | None) -> tuple[Options, bool, Path]:
    default = Options()
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__.split("\n")[0])
    parser.add_argument(
        "--rounds", type=int, default=default.rounds, help="at least 3 for a spread"
    )
    parser.add_argument(
        "--in-flight", type=int, nargs="+", default=list(default.in_flight), metavar="N"
    )
    parser.add_argument("--warmup-calls", type=int, default=default.warmup_calls)
    parser.add_argument("--warmup-s", type=float, default=default.warmup_s)
    parser.add_argument(
        "--window-calls", type=int, default=default.window_calls, help="most calls per window"
    )
    parser.add_argument(
        "--window-s", type=float, default=default.window_s, help="longest window, seconds"
    )
    parser.add_argument(
        "--variants",
        nargs="+",
        choices=[v.key for v in VARIANTS],
        default=list(default.variants),
    )
    parser.add_argument(
        "--profile", action="store_true", help=f"py-spy on {' and '.join(PROFILED)} afterwards"
    )
    parser.add_argument("--profile-s", type=int, default=default.profile_s)
    parser.add_argument("--no-write", action="store_true", help="print only; leave RESULTS.md")
    parser.add_argument("--results", type=Path, default=RESULTS)
    args = parser.parse_args(argv)
    if args.rounds < 1 or args.window_s <= 0 or args.window_calls < 1 or args.profile_s < 1:
        parser.error("rounds, window and profile sizes must be positive")
    options = Options(
        rounds=args.rounds,
        in_flight=tuple(args.in_flight),
        warmup_calls=args.warmup_calls,
        warmup_s=args.warmup_s,
        window_calls=args.window_calls,
        window_s=args.window_s,
        variants=tuple(args.variants),
        profile=PROFILED if args.profile else (),
        profile_s=args.profile_s,
    )
    return options, not args.no_write, args.results


def main(argv: list[str] | None = None) -> None:
    options, write, results = options_from(argv)
    bench_run = asyncio.run(run(options, progress=lambda line: print(line, file=sys.stderr)))
    text = section(bench_run)
    print(text)
    if write:
        write_section(results, text)
        print(f"(written to {results})", file=sys.stderr)


if __name__ == "__main__":
    main()
