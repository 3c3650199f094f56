"""One bench run: every variant, several rounds, the order rotated each round so that drift of
the machine hits them all alike; then, if asked, py-spy on servers under load."""

from __future__ import annotations

import asyncio
import subprocess
import sys
import tempfile
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from bench import cpu_profile
from bench.load import Window, drive
from bench.proc_stats import CpuTimes, cores_busy_s, own_cpu_s, tree_cpu, tree_peak_rss_kib
from bench.processes import (
    LOAD_CORE,
    PROJECT_ROOT,
    SERVER_CORE,
    BenchError,
    pin_this_process,
    pinned,
    python_module,
)
from bench.variants import VARIANTS, BenchEnv, Calls, Variant
from bench.vendor import SERVING_LINE as VENDOR_SERVING_LINE

PROFILE_IN_FLIGHT = 16


@dataclass(frozen=True)
class Options:
    rounds: int = 3
    in_flight: tuple[int, ...] = (1, 16)
    warmup_calls: int = 300
    warmup_s: float = 1.0
    window_calls: int = 20_000
    window_s: float = 4.0
    variants: tuple[str, ...] = tuple(v.key for v in VARIANTS)
    profile: tuple[str, ...] = ()  # variants to sample with py-spy after the rounds
    profile_s: int = 8


@dataclass(frozen=True)
class Measured:
    """One window of one variant in one round."""

    window: Window
    server_cpu: CpuTimes | None  # the server's process tree; None without a server
    load_cpu_s: float  # the load generator and the vendor, which share the other core
    # CPU seconds that other processes took on each core meanwhile (the machine's noise).
    others_server_core_s: float
    others_load_core_s: float


@dataclass(frozen=True)
class VariantRound:
    """One variant in one round: a fresh server, then per load a warm-up and a window."""

    variant: str
    round: int
    windows: dict[int, Measured]  # by calls in flight
    peak_rss_kib: int | None
    to_serving_s: float | None


@dataclass(frozen=True)
class BenchRun:
    options: Options
    results: tuple[VariantRound, ...]
    profiles: dict[str, cpu_profile.Profile]


ProgressFn = Callable[[str], None]


async def _warm_up(calls: Calls, in_flight: int, options: Options) -> None:
    await drive(
        calls(f"warm-{uuid.uuid4().hex[:12]}"),
        in_flight=in_flight,
        max_calls=options.warmup_calls,
        max_s=options.warmup_s,
    )


async def measure(
    variant: Variant, env: BenchEnv, vendor_pid: int, options: Options, round_: int
) -> VariantRound:
    windows: dict[int, Measured] = {}
    async with variant.server(env) as server, variant.client(env, server) as calls:
        server_pid = server.process.pid if server is not None else None
        for in_flight in options.in_flight:
            await _warm_up(calls, in_flight, options)
            server_before = tree_cpu(server_pid) if server_pid is not None else None
            load_before = own_cpu_s() + tree_cpu(vendor_pid).total_s
            cores_before = cores_busy_s()
            window = await drive(
                calls(uuid.uuid4().hex[:12]),
                in_flight=in_flight,
                max_calls=options.window_calls,
                max_s=options.window_s,
            )
            cores_after = cores_busy_s()
            load_cpu = own_cpu_s() + tree_cpu(vendor_pid).total_s - load_before
            server_cpu = (
                tree_cpu(server_pid) - server_before
                if server_pid is not None and server_before is not None
                else None
            )
            on_server_core = cores_after[SERVER_CORE] - cores_before[SERVER_CORE]
            on_load_core = cores_after[LOAD_CORE] - cores_before[LOAD_CORE]
            windows[in_flight] = Measured(
                window,
                server_cpu,
                load_cpu,
                others_server_core_s=on_server_core - (server_cpu.total_s if server_cpu else 0),
                others_load_core_s=on_load_core - load_cpu,
            )
        peak = tree_peak_rss_kib(server_pid) if server_pid is not None else None
    to_serving = server.to_serving_s if server is not None else None
    return VariantRound(variant.key, round_, windows, peak, to_serving)


async def sample(variant: Variant, env: BenchEnv, options: Options) -> cpu_profile.Profile:
    """py-spy on the variant's server while it carries PROFILE_IN_FLIGHT calls at a time."""
    out = env.work_dir / f"profile-{variant.key}-{uuid.uuid4().hex[:8]}.raw"
    async with variant.server(env) as server, variant.client(env, server) as calls:
        if server is None:
            raise BenchError(f"{variant.key} has no server to profile")
        await _warm_up(calls, PROFILE_IN_FLIGHT, options)
        command = cpu_profile.record_command(server.process.pid, options.profile_s, out)
        async with pinned("py-spy", LOAD_CORE, command) as spy:
            # The load outlasts the sampling; both are bounded in time.
            load = asyncio.create_task(
                drive(
                    calls(uuid.uuid4().hex[:12]),
                    in_flight=PROFILE_IN_FLIGHT,
                    max_calls=10_000_000,
                    max_s=options.profile_s + 3,
                )
            )
            try:
                async with asyncio.timeout(options.profile_s + 30):
                    code = await spy.process.wait()
            finally:
                await load  # bounded in time; the server must outlive it
            if code != 0 or not out.exists():
                raise BenchError(f"py-spy failed ({code}):\n{spy.output}")
    return cpu_profile.parse_raw(out.read_text(encoding="utf-8"))


def rotated(variants: list[Variant], round_: int) -> list[Variant]:
    shift = round_ % len(variants)
    return variants[shift:] + variants[:shift]


def compile_bytecode(root: Path = PROJECT_ROOT, python: str = sys.executable) -> None:
    """Compiles a checkout's modules for ``python`` as a package install does: each server
    measured starts from bytecode, not from sources compiled again at every start."""
    packages = [
        p for p in ("gateway", "adapters", "connectorgateway", "bench") if (root / p).is_dir()
    ]
    subprocess.run(  # noqa: S603 - this or the operator's own interpreter
        [python, "-m", "compileall", "-q", "-j0", *packages], cwd=root, check=True
    )


async def run(options: Options, progress: ProgressFn = print) -> BenchRun:
    compile_bytecode()
    pin_this_process([LOAD_CORE])
    chosen = [v for v in VARIANTS if v.key in options.variants]
    results: list[VariantRound] = []
    profiles: dict[str, cpu_profile.Profile] = {}
    with tempfile.TemporaryDirectory(prefix="bench-") as scratch:
        async with pinned("vendor", LOAD_CORE, python_module("bench.vendor")) as vendor:
            vendor_url = await vendor.text_after(VENDOR_SERVING_LINE, 30)
            env = BenchEnv.create(Path(scratch), vendor_url)
            for round_ in range(options.rounds):
                for variant in rotated(chosen, round_):
                    result = await measure(variant, env, vendor.pid, options, round_)
                    results.append(result)
                    rates = ", ".join(
                        f"{n} in flight {m.window.calls_per_s:.0f}/s"
                        for n, m in result.windows.items()
                    )
                    progress(f"round {round_ + 1}/{options.rounds} {variant.key}: {rates}")
            for variant in VARIANTS:
                if variant.key in options.profile:
                    progress(f"profiling {variant.key} for {options.profile_s} s")
                    profiles[variant.key] = await sample(variant, env, options)
    return BenchRun(options, tuple(results), profiles)
