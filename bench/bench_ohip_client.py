"""Benchmark: what the pooled, caching OHIP client buys, measured side by side in one run against the sandbox.

    uv run python bench/bench_ohip_client.py [--calls 300]

Three ways to read the same reservation N times over loopback HTTP:
  naive   a new httpx2 client per call (a new TLS context and TCP connection), as code without a shared pool does
  pooled  OperaHTTP, the server's one pooled client, cache off
  cached  OperaHTTP with the business response cache
It prints per-call latency (mean, p50, p95) and the ratios naive/pooled and pooled/cached. Absolute numbers depend
on the machine; the ratios are the result. Loopback hides most of a connection's cost (no TLS, no network round
trip), so against real OHIP over TLS the pooled/naive gap is larger than shown here.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import time
import uuid
from collections.abc import Awaitable, Callable
from datetime import date

import httpx2

from app.config import SANDBOX_APP_KEY, SANDBOX_ENTERPRISE_ID, load_settings
from app.opera.http import OperaHTTP
from app.opera.reservations import GET_HOTEL_RESERVATIONS, GET_RESERVATION
from app.sandbox.app import SandboxConfig, create_sandbox_app
from app.telemetry.metrics import Metrics
from tests.support.servers import serve


async def timed(n: int, call: Callable[[], Awaitable[object]]) -> list[float]:
    out = []
    for _ in range(n):
        start = time.perf_counter()
        await call()
        out.append((time.perf_counter() - start) * 1000)
    return out


def summary(name: str, ms: list[float]) -> str:
    q = statistics.quantiles(ms, n=20)
    return f"{name:7s} mean {statistics.fmean(ms):6.2f} ms  p50 {statistics.median(ms):6.2f} ms  p95 {q[18]:6.2f} ms"


async def main(calls: int) -> None:
    sandbox_app = create_sandbox_app(SandboxConfig(business_date=date(2026, 5, 1)))
    with serve(sandbox_app) as srv:
        settings = load_settings(client_id="sandbox-client", client_secret="sandbox-secret", base_url=srv.url,
                                 app_key=SANDBOX_APP_KEY, enterprise_id=SANDBOX_ENTERPRISE_ID, cashier_id=113,
                                 requests_per_second=100_000, burst_capacity=100_000,
                                 log_level="WARNING")
        http = OperaHTTP(settings, Metrics())
        await http.start()
        try:
            hotel = "SAND01"
            found = await http.call(GET_HOTEL_RESERVATIONS, hotel_id=hotel, params={"limit": 1})
            rid = found.body["reservations"]["reservationInfo"][0]["reservationIdList"][0]["id"]  # type: ignore[index]
            token = await http.token_manager.get_token()
            url = f"{srv.url}/rsv/v1/hotels/{hotel}/reservations/{rid}"

            async def naive() -> object:
                async with httpx2.AsyncClient() as client:
                    r = await client.get(url, headers={"authorization": f"Bearer {token}", "x-app-key": SANDBOX_APP_KEY,
                                                       "x-hotelid": hotel, "x-request-id": str(uuid.uuid4())})
                    r.raise_for_status()
                    return r.json()

            async def pooled() -> object:
                return await http.call(GET_RESERVATION, hotel_id=hotel, path_params={"reservationId": rid})

            async def cached() -> object:
                return await http.call(GET_RESERVATION, hotel_id=hotel, path_params={"reservationId": rid},
                                       cache="business")

            for warm in (naive, pooled, cached):  # warm imports, the pool and the cache
                await timed(10, warm)
            before = srv.app.state.sandbox.connection_count()
            results = {}
            # Interleave rounds so machine noise hits all three alike.
            for _ in range(5):
                for name, fn in (("naive", naive), ("pooled", pooled), ("cached", cached)):
                    results.setdefault(name, []).extend(await timed(calls // 5, fn))
            used = srv.app.state.sandbox.connection_count() - before
        finally:
            await http.aclose()
    for name in ("naive", "pooled", "cached"):
        print(summary(name, results[name]))
    naive_ms, pooled_ms, cached_ms = (statistics.median(results[k]) for k in ("naive", "pooled", "cached"))
    print(f"ratio naive/pooled (p50): {naive_ms / pooled_ms:.2f}x   pooled/cached (p50): {pooled_ms / cached_ms:.2f}x")
    print(f"new TCP connections seen by the sandbox during the run: {used} (naive opens one per call)")


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--calls", type=int, default=300)
    asyncio.run(main(parser.parse_args().calls))
