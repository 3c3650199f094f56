"""Measures the governed call path: keyed Executes through the whole chain (audit with
fsync'd group commit, idempotency ledger, retries, breaker, rate limit) against an in-memory
vendor, on loopback. Bounded in count and time; prints a Markdown section to add to
bench/RESULTS.md.

    make bench            # defaults: 2000 calls, 50 at a time
    python -m bench --calls 5000 --concurrency 100
"""

from __future__ import annotations

import argparse
import asyncio
import platform
import statistics
import tempfile
import time
from pathlib import Path

import grpc

from connectorgateway.v1 import connector_service_pb2 as pb
from connectorgateway.v1 import connector_service_pb2_grpc as pb_grpc
from gateway.app import Gateway
from gateway.registry import Connector
from gateway.settings import Settings
from tests.support.fake_adapter import FakeAdapter


def percentile(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(p / 100 * len(ordered)) - 1))]


async def run(calls: int, concurrency: int) -> str:
    with tempfile.TemporaryDirectory() as data_dir:
        settings = Settings(
            grpc_address="127.0.0.1:0",
            http_address="127.0.0.1:0",
            data_dir=Path(data_dir),
            health={"probe_interval_s": 0},
            reliability={"rate_limits": {"fake": {"per_second": 1_000_000, "burst": 1_000_000}}},
        )
        gateway = Gateway(settings, connectors=[Connector(FakeAdapter(), registered=True)])
        await gateway.start()
        try:
            async with grpc.aio.insecure_channel(f"127.0.0.1:{gateway.grpc_port}") as channel:
                stub = pb_grpc.ConnectorServiceStub(channel)
                latencies: list[float] = []
                semaphore = asyncio.Semaphore(concurrency)

                async def one(i: int) -> None:
                    request = pb.ExecuteRequest(
                        connector_key="fake", operation="echo", idempotency_key=f"bench-{i}"
                    )
                    request.payload.update({"text": "benchmark"})
                    async with semaphore:
                        started = time.perf_counter()
                        await stub.Execute(request, timeout=30)
                        latencies.append((time.perf_counter() - started) * 1000)

                started = time.perf_counter()
                await asyncio.gather(*(one(i) for i in range(calls)))
                elapsed = time.perf_counter() - started
            assert gateway.audit is not None
            commits = gateway.audit.commits
        finally:
            await gateway.stop(grace_s=5)
    return "\n".join(
        [
            f"## Keyed Execute through the whole chain ({time.strftime('%Y-%m-%d')})",
            "",
            f"- machine: {platform.machine()}, Python {platform.python_version()}, "
            f"{calls} calls, {concurrency} concurrent, SQLite on {data_dir}",
            f"- throughput: {calls / elapsed:.0f} calls/s ({elapsed:.2f} s)",
            f"- latency ms: p50 {statistics.median(latencies):.1f}, "
            f"p95 {percentile(latencies, 95):.1f}, p99 {percentile(latencies, 99):.1f}",
            f"- audit commits: {commits} for {2 * calls} rows (group commit)",
            "",
        ]
    )


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench")
    parser.add_argument("--calls", type=int, default=2000)
    parser.add_argument("--concurrency", type=int, default=50)
    args = parser.parse_args()
    print(asyncio.run(run(args.calls, args.concurrency)))


if __name__ == "__main__":
    main()
