"""The Markdown section of a bench run, and its place in bench/RESULTS.md.

Every figure is the median over the rounds with its (min-max) spread beside it.
"""

from __future__ import annotations

import os
import platform
import statistics
import tempfile
import time
from collections.abc import Callable, Sequence
from importlib import metadata
from pathlib import Path

from bench import cpu_profile
from bench.side_by_side import PROFILE_IN_FLIGHT, BenchRun, Measured, VariantRound
from bench.variants import VARIANTS

TITLE = "Side by side: gateway and the cheapest proxies"
RATIOS = (("b-read", "a'"), ("b-read", "a"), ("b-write", "a'"), ("b-write", "a"))


def spread(values: Sequence[float], digits: int = 0) -> str:
    """``median (min-max)``; a dash when nothing was measured."""
    if not values:
        return "—"
    median = statistics.median(values)
    if len(values) == 1:
        return f"{median:.{digits}f}"
    return f"{median:.{digits}f} ({min(values):.{digits}f}–{max(values):.{digits}f})"


def _cpu_us_per_call(m: Measured) -> float | None:
    if m.server_cpu is None or m.window.calls == 0:
        return None
    return m.server_cpu.total_s / m.window.calls * 1e6


def _kernel_share(m: Measured) -> float | None:
    if m.server_cpu is None or m.server_cpu.total_s == 0:
        return None
    return 100 * m.server_cpu.system_s / m.server_cpu.total_s


def _values(
    rounds: Sequence[VariantRound], in_flight: int, pick: Callable[[Measured], float | None]
) -> list[float]:
    found = (pick(r.windows[in_flight]) for r in rounds if in_flight in r.windows)
    return [v for v in found if v is not None]


def _filesystem(path: str) -> str:
    """The type of the file system holding ``path`` (the longest mount point above it)."""
    best, kind = "", "unknown"
    try:
        for line in Path("/proc/mounts").read_text().splitlines():
            fields = line.split()
            mount, fs = fields[1], fields[2]
            under = path == mount or path.startswith(mount.rstrip("/") + "/")
            if under and len(mount) > len(best):
                best, kind = mount, fs
    except (OSError, IndexError):
        pass
    return kind


def machine() -> str:
    model = "unknown CPU"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    versions = ", ".join(
        f"{name} {metadata.version(name)}" for name in ("grpcio", "aiohttp", "protobuf")
    )
    return (
        f"{platform.machine()}, {os.cpu_count()} cores ({model}), Linux {platform.release()}, "
        f"Python {platform.python_version()}, {versions}"
    )


def section(run: BenchRun, *, when: str | None = None) -> str:
    options = run.options
    by_variant = {
        v.key: [r for r in run.results if r.variant == v.key]
        for v in VARIANTS
        if v.key in options.variants
    }
    lines = [
        f"## {TITLE} ({when or time.strftime('%Y-%m-%d')})",
        "",
        f"- machine: {machine()}",
        f"- rounds: {options.rounds}, the variants' order rotated each round; each server a fresh "
        f"process pinned to core 0 (`taskset -c 0`), the load generator and the loopback aiohttp "
        f"vendor pinned to core 1; each window after a warm-up of up to "
        f"{options.warmup_calls} calls or {options.warmup_s:g} s, then up to "
        f"{options.window_calls} calls or {options.window_s:g} s (closed loop).",
        "- (b) is the whole chain: enforced HS256 bearer tokens, durable audit "
        "(`synchronous=FULL`), the idempotency ledger, spans sampled at 10 % (no exporter), "
        f"on a fresh SQLite database in a temporary directory "
        f"({_filesystem(tempfile.gettempdir())}); the bench connector calls the "
        "vendor through the shared `VendorHttpClient`.",
        "- server CPU: utime+stime of the server's process tree over the window, per call; "
        "of it kernel: the stime share. Server core: that CPU over the window's wall time. "
        "Load core: the load generator's and vendor's CPU over it (near 100 % means core 1, "
        "not the server, set the pace).",
        f"- CPU taken by other processes on the machine: {_others(run)}",
        "- figures: median (min–max) over the rounds.",
        "",
        "| variant | what |",
        "| --- | --- |",
        *(f"| {v.key} | {v.what} |" for v in VARIANTS if v.key in by_variant),
        "",
    ]
    for in_flight in options.in_flight:
        lines += [
            f"**{in_flight} call{'s' if in_flight > 1 else ''} in flight**",
            "",
            "| variant | calls/s | p50 ms | p90 ms | p99 ms | server CPU µs/call "
            "| of it kernel % | server core % | load core % |",
            "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |",
        ]
        for key, rounds in by_variant.items():
            cells = [spread(_values(rounds, in_flight, pick), digits) for pick, digits in _COLUMNS]
            lines.append(f"| {key} | " + " | ".join(cells) + " |")
        lines.append("")
    lines += [
        "**Each server process**",
        "",
        "| variant | peak RSS MiB (VmHWM) | start to SERVING s |",
        "| --- | ---: | ---: |",
    ]
    for key, rounds in by_variant.items():
        rss = [r.peak_rss_kib / 1024 for r in rounds if r.peak_rss_kib is not None]
        start = [r.to_serving_s for r in rounds if r.to_serving_s is not None]
        if rss or start:
            lines.append(f"| {key} | {spread(rss, 1)} | {spread(start, 2)} |")
    lines += ["", *_ratios(run, by_variant)]
    for key, sampled in run.profiles.items():
        lines += cpu_profile.summary(
            sampled,
            title=f"Where {key} spends its CPU (py-spy, {options.profile_s} s at "
            f"{PROFILE_IN_FLIGHT} in flight, {cpu_profile.SAMPLES_PER_S} samples/s of the thread "
            "holding the GIL)",
        )
    return "\n".join(lines).rstrip() + "\n"


def _others(run: BenchRun) -> str:
    """How busy other processes kept each core during the windows, and the worst window."""
    windows = [(r, n, m) for r in run.results for n, m in r.windows.items()]
    if not windows:
        return "not measured"
    parts = []
    for core, others in (
        (0, [m.others_server_core_s / m.window.elapsed_s for _, _, m in windows]),
        (1, [m.others_load_core_s / m.window.elapsed_s for _, _, m in windows]),
    ):
        worst = max(range(len(others)), key=others.__getitem__)
        r, n, _ = windows[worst]
        parts.append(
            f"core {core} {100 * max(0.0, statistics.median(others)):.0f} % "
            f"(max {100 * max(0.0, others[worst]):.0f} %: round {r.round + 1}, "
            f"{r.variant} at {n} in flight)"
        )
    return "median over the windows " + ", ".join(parts)


def _busy(cpu_s: float | None, m: Measured) -> float | None:
    return None if cpu_s is None else 100 * cpu_s / m.window.elapsed_s


# The columns of a load's table after the variant, each with its decimals.
_COLUMNS: tuple[tuple[Callable[[Measured], float | None], int], ...] = (
    (lambda m: m.window.calls_per_s, 0),
    (lambda m: m.window.percentile_ms(50), 2),
    (lambda m: m.window.percentile_ms(90), 2),
    (lambda m: m.window.percentile_ms(99), 2),
    (_cpu_us_per_call, 0),
    (_kernel_share, 0),
    (lambda m: _busy(m.server_cpu.total_s if m.server_cpu else None, m), 0),
    (lambda m: _busy(m.load_cpu_s, m), 0),
)


def _ratios(run: BenchRun, by_variant: dict[str, list[VariantRound]]) -> list[str]:
    """Server CPU per call of (b) over that of (a') and (a), round by round."""
    wanted = [(b, a) for b, a in RATIOS if b in by_variant and a in by_variant]
    if not wanted:
        return []
    lines = [
        "**Server CPU per call, ratios** (per round, then median (min–max))",
        "",
        "| in flight | " + " | ".join(f"{b} / {a}" for b, a in wanted) + " |",
        "| ---: |" + " ---: |" * len(wanted),
    ]
    for in_flight in run.options.in_flight:
        cells = []
        for b, a in wanted:
            ratios = []
            for round_ in range(run.options.rounds):
                num = _round_cpu(by_variant[b], round_, in_flight)
                den = _round_cpu(by_variant[a], round_, in_flight)
                if num is not None and den:
                    ratios.append(num / den)
            cells.append(spread(ratios, 1))
        lines.append(f"| {in_flight} | " + " | ".join(cells) + " |")
    lines.append("")
    return lines


def _round_cpu(rounds: list[VariantRound], round_: int, in_flight: int) -> float | None:
    for r in rounds:
        if r.round == round_ and in_flight in r.windows:
            return _cpu_us_per_call(r.windows[in_flight])
    return None


def write_section(results_file: Path, text: str) -> None:
    """Replaces the section with the same heading, or appends it; other sections stay."""
    heading = text.splitlines()[0]
    old = results_file.read_text(encoding="utf-8") if results_file.exists() else ""
    lines = old.splitlines(keepends=True)
    start = next((i for i, line in enumerate(lines) if line.rstrip("\n") == heading), None)
    if start is None:
        results_file.write_text(old.rstrip("\n") + "\n\n" + text, encoding="utf-8")
        return
    end = next((i for i in range(start + 1, len(lines)) if lines[i].startswith("## ")), len(lines))
    rest = "".join(lines[end:])
    new = "".join(lines[:start]) + text + ("\n" + rest if rest else "")
    results_file.write_text(new, encoding="utf-8")
