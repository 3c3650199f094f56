"""Two checkouts of the gateway measured side by side, in paired windows.

    python -m bench.paired [--variant b-write] [--in-flight 16] [--pairs 16] A B
    python -m bench.paired --pythons PY_A PY_B . .

A and B are directories holding a checkout, or git revisions (checked out into temporary
worktrees and removed afterwards); ``--pythons`` runs each under an interpreter of its own (a
virtualenv's python with the project's requirements installed), to compare interpreters. Both
gateways start at once, each on a fresh database, pinned to the server core; the load generator
then measures them in alternating windows (A then B, then B then A, ...) against the same
loopback vendor, so that the machine's drift hits both alike, and reports the median and
interquartile range of the per-pair ratio B / A of server CPU per call. On this shared virtual
machine absolute figures drift by 15-30 % within hours, while paired ratios resolve differences
of about 5 %. Nothing is written to RESULTS.md: the caller quotes what it measured.
"""

from __future__ import annotations

import argparse
import asyncio
import shutil
import statistics
import subprocess
import sys
import tempfile
import uuid
from collections.abc import AsyncIterator, Callable, Iterator, Sequence
from contextlib import AsyncExitStack, asynccontextmanager, contextmanager
from dataclasses import dataclass
from pathlib import Path

from bench.load import drive
from bench.proc_stats import tree_cpu
from bench.processes import (
    LOAD_CORE,
    PROJECT_ROOT,
    SERVER_CORE,
    Pinned,
    free_port,
    pin_this_process,
    pinned,
    python_module,
    seconds_to_serving,
)
from bench.side_by_side import compile_bytecode
from bench.variants import VARIANTS, BenchEnv, Calls, Server
from bench.vendor import SERVING_LINE as VENDOR_SERVING_LINE
from gateway.methods import CONNECTOR_SERVICE

GATEWAY_VARIANTS = ("b-read", "b-write")
WARMUP_CALLS = 500


@dataclass(frozen=True)
class Summary:
    """The per-pair ratios B / A: their median and quartiles."""

    pairs: int
    median: float
    lower_quartile: float
    upper_quartile: float


def summarize(a_us: Sequence[float], b_us: Sequence[float]) -> Summary:
    """The ratios of paired windows (the i-th window of B over the i-th of A)."""
    if len(a_us) != len(b_us) or len(a_us) < 2:
        raise ValueError("give at least two pairs of windows, as many of A as of B")
    ratios = [b / a for a, b in zip(a_us, b_us, strict=True)]
    lower, median, upper = statistics.quantiles(ratios, n=4, method="inclusive")
    return Summary(len(ratios), median, lower, upper)


def _git() -> str:
    found = shutil.which("git")
    if found is None:
        raise RuntimeError("comparing git revisions needs git; or give two directories")
    return found


@contextmanager
def checkouts(refs: Sequence[str]) -> Iterator[list[Path]]:
    """Each ref as a directory: itself when it is one, else a temporary git worktree."""
    made: list[Path] = []
    trees: list[Path] = []
    with tempfile.TemporaryDirectory(prefix="paired-") as scratch:
        try:
            for index, ref in enumerate(refs):
                if Path(ref).is_dir():
                    trees.append(Path(ref).resolve())
                    continue
                tree = Path(scratch) / f"tree-{index}"
                subprocess.run(  # noqa: S603 - the operator's own revision, to git alone
                    [_git(), "worktree", "add", "--detach", "--quiet", str(tree), ref],
                    cwd=PROJECT_ROOT,
                    check=True,
                )
                made.append(tree)
                trees.append(tree)
            yield trees
        finally:
            for tree in made:
                subprocess.run(  # noqa: S603 - a worktree this run made
                    [_git(), "worktree", "remove", "--force", str(tree)],
                    cwd=PROJECT_ROOT,
                    check=False,
                )


@asynccontextmanager
async def gateway_from(
    tree: Path, env: BenchEnv, python: str = sys.executable
) -> AsyncIterator[Server]:
    """The gateway of ``tree`` run by ``python`` with the bench connector, on a fresh
    database of its own."""
    port = free_port()
    config = env.gateway_config(port)
    code = (
        f"import sys; sys.path.insert(0, {str(tree)!r}); sys.argv = ['serve', {str(config)!r}]; "
        "from bench.serve_gateway import main; main()"
    )
    address = f"127.0.0.1:{port}"
    async with pinned(tree.name, SERVER_CORE, [python, "-c", code]) as process:
        seconds = await seconds_to_serving(process, address, CONNECTOR_SERVICE)
        yield Server(process, address, seconds)


@dataclass(frozen=True)
class WindowFigures:
    cpu_us: float  # server CPU per call
    p50_ms: float  # the median call's latency


def _cpu_us(window: WindowFigures) -> float:
    return window.cpu_us


def _p50_ms(window: WindowFigures) -> float:
    return window.p50_ms


# What main reports of the paired windows: name, unit, and the figure of a window.
_FIGURES: tuple[tuple[str, str, Callable[[WindowFigures], float]], ...] = (
    ("server CPU per call", "µs", _cpu_us),
    ("median latency", "ms", _p50_ms),
)


async def _window(process: Pinned, calls: Calls, in_flight: int, window_s: float) -> WindowFigures:
    """Server CPU per call over one window, in microseconds, and its median latency."""
    before = tree_cpu(process.pid).total_s
    window = await drive(
        calls(uuid.uuid4().hex[:12]), in_flight=in_flight, max_calls=1_000_000, max_s=window_s
    )
    cpu_us = (tree_cpu(process.pid).total_s - before) / window.calls * 1e6
    return WindowFigures(cpu_us, window.percentile_ms(50))


async def measure(
    trees: Sequence[Path],
    variant_key: str,
    in_flight: int,
    pairs: int,
    window_s: float,
    pythons: Sequence[str] = (sys.executable, sys.executable),
) -> tuple[list[WindowFigures], list[WindowFigures]]:
    """Server CPU per call and median latency of A and of B, window by window."""
    variant = next(v for v in VARIANTS if v.key == variant_key)
    pin_this_process([LOAD_CORE])
    with tempfile.TemporaryDirectory(prefix="bench-paired-") as scratch:
        async with (
            pinned("vendor", LOAD_CORE, python_module("bench.vendor")) as vendor,
            AsyncExitStack() as stack,
        ):
            vendor_url = await vendor.text_after(VENDOR_SERVING_LINE, 30)
            env = BenchEnv.create(Path(scratch), vendor_url)
            servers: list[tuple[Pinned, Calls]] = []
            for tree, python in zip(trees, pythons, strict=True):
                server = await stack.enter_async_context(gateway_from(tree, env, python))
                calls = await stack.enter_async_context(variant.client(env, server))
                await drive(calls("warm"), in_flight=in_flight, max_calls=WARMUP_CALLS, max_s=2)
                servers.append((server.process, calls))
            measured: list[list[WindowFigures]] = [[], []]
            for pair in range(pairs):
                order = (0, 1) if pair % 2 == 0 else (1, 0)
                for index in order:
                    process, calls = servers[index]
                    measured[index].append(await _window(process, calls, in_flight, window_s))
    return measured[0], measured[1]


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.paired", description=__doc__)
    parser.add_argument("a", help="a checkout's directory, or a git revision")
    parser.add_argument("b", help="the other one")
    parser.add_argument("--variant", choices=GATEWAY_VARIANTS, default="b-write")
    parser.add_argument("--in-flight", type=int, default=16)
    parser.add_argument("--pairs", type=int, default=16, help="at least 2; 16 or more to trust")
    parser.add_argument("--window-s", type=float, default=1.0)
    parser.add_argument(
        "--pythons",
        nargs=2,
        metavar=("PY_A", "PY_B"),
        default=[sys.executable, sys.executable],
        help="the interpreters that run A and B (default: this one for both)",
    )
    args = parser.parse_args(argv)
    with checkouts([args.a, args.b]) as trees:
        for tree, python in zip(trees, args.pythons, strict=True):
            compile_bytecode(tree, python)
        a, b = asyncio.run(
            measure(trees, args.variant, args.in_flight, args.pairs, args.window_s, args.pythons)
        )
    print(f"{args.variant} at {args.in_flight} in flight, {len(a)} pairs of windows")
    for what, unit, figure in _FIGURES:
        a_figures, b_figures = [figure(w) for w in a], [figure(w) for w in b]
        summary = summarize(a_figures, b_figures)
        print(
            f"{what}: A {args.a} {statistics.median(a_figures):.2f} {unit}, "
            f"B {args.b} {statistics.median(b_figures):.2f} {unit}; B / A per pair: median "
            f"{summary.median:.3f}, interquartile "
            f"{summary.lower_quartile:.3f}-{summary.upper_quartile:.3f}"
        )


if __name__ == "__main__":
    main()
