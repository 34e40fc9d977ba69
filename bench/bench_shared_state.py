"""Benchmark: what the Redis path costs per tool call, side by side in one run against the in-process stores.

    uv run python bench/bench_shared_state.py [--calls 200] [--rounds 3]

Two servers (`python -m app`, one process each) share one standalone sandbox process: `memory` keeps token,
idempotency records, limiter and cache in process; `redis` keeps them in a real redis-server on loopback. Each
round sends, to each server in turn, sequential MCP tools/call requests over HTTP:
  read-cached    get_reservation of one reservation (a cache hit after the first)
  read           search_reservations with the cache off for that query shape (each one reaches OHIP)
  write          post_charge with a fresh idempotency_key (claim, OPERA look-up, posting, record, invalidation)
It prints p50 and p99 per server and the ratio redis / memory of each, over interleaved rounds (so drift in the
machine's load hits both alike). The load average is printed: these machines are small and noisy, so read the
ratios, not the absolute numbers. Everything runs on 127.0.0.1 and stops by itself.
"""

from __future__ import annotations

import argparse
import itertools
import os
import statistics
import sys
import time
import uuid
from pathlib import Path
from typing import Any

import httpx2

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from tests.support.fleet import replica, standalone_sandbox
from tests.support.redis import RedisServer

HEADERS = {"accept": "application/json, text/event-stream", "content-type": "application/json",
           "mcp-protocol-version": "2025-11-25"}


def call(http: httpx2.Client, url: str, name: str, arguments: dict[str, Any]) -> float:
    body = {"jsonrpc": "2.0", "id": 1, "method": "tools/call", "params": {"name": name, "arguments": arguments}}
    started = time.perf_counter()
    answer = http.post(url, json=body, headers=HEADERS)
    elapsed = (time.perf_counter() - started) * 1000
    if answer.status_code != 200 or '"isError":true' in answer.text:
        raise RuntimeError(f"{name} failed: {answer.text[:300]}")
    return elapsed


def quantile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--calls", type=int, default=200, help="calls per kind, server and round")
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()

    redis = RedisServer().start()
    try:
        with standalone_sandbox() as sandbox:
            common = {"requests_per_second": 1000, "burst_capacity": 1000, "inbound_requests_per_minute": 10**7}
            servers = {"memory": replica("memory", sandbox.url, None, **common),
                       "redis": replica("redis", sandbox.url, redis.url, **common)}
            try:
                for server in servers.values():
                    server.start()
                run(servers, sandbox.url, args.calls, args.rounds)
            finally:
                for server in servers.values():
                    server.stop()
    finally:
        redis.close()


def run(servers: dict[str, Any], sandbox_url: str, calls: int, rounds: int) -> None:
    samples: dict[tuple[str, str], list[float]] = {}
    with httpx2.Client(timeout=30) as http:
        token = http.post(f"{sandbox_url}/oauth/v1/tokens", data={"grant_type": "client_credentials",
                                                                   "scope": "urn:opc:hgbu:ws:__myscopes__"},
                          auth=("sandbox-client", "sandbox-secret"),
                          headers={"x-app-key": "5f7e3b2a-9c41-4d6e-8a2b-1c3d5e7f9a0b",
                                   "enterpriseId": "SANDBOX"}).json()["access_token"]
        rows = http.get(f"{sandbox_url}/rsv/v1/hotels/SAND01/reservations",
                        params={"reservationStatuses": "InHouse", "limit": 5},
                        headers={"Authorization": f"Bearer {token}", "x-hotelid": "SAND01",
                                 "x-app-key": "5f7e3b2a-9c41-4d6e-8a2b-1c3d5e7f9a0b"}).json()
        ids = [next(i["id"] for i in row["reservationIdList"] if i.get("type") == "Reservation")
               for row in rows["reservations"]["reservationInfo"]]
        guest = itertools.cycle(ids)
        kinds = {
            "read-cached": lambda n: ("get_reservation", {"reservation_id": ids[0]}),
            "read": lambda n: ("search_reservations", {"surname": "Smith", "limit": 5, "offset": n % 40}),
            "write": lambda n: ("post_charge", {"reservation_id": next(guest), "transaction_code": "2010",
                                                "amount": 1.0, "idempotency_key": str(uuid.uuid4())}),
        }
        for server in servers.values():  # warm up: token, connections, caches
            for make in kinds.values():
                tool, arguments = make(0)
                call(http, f"{server.url}/mcp", tool, arguments)
        for _ in range(rounds):
            for kind, make in kinds.items():
                for name, server in servers.items():
                    bucket = samples.setdefault((kind, name), [])
                    bucket.extend(call(http, f"{server.url}/mcp", *make(n)) for n in range(calls))
    load = os.getloadavg()
    print(f"{rounds} interleaved rounds x {calls} sequential calls per kind and server; load average "
          f"{load[0]:.2f} {load[1]:.2f} {load[2]:.2f} on {os.cpu_count()} cores")
    print(f"{'kind':12s} {'memory p50':>11s} {'p99':>8s} {'redis p50':>11s} {'p99':>8s} {'ratio p50':>10s} "
          f"{'ratio p99':>10s}")
    for kind in kinds:
        mem, red = samples[(kind, "memory")], samples[(kind, "redis")]
        m50, m99, r50, r99 = statistics.median(mem), quantile(mem, 0.99), statistics.median(red), quantile(red, 0.99)
        print(f"{kind:12s} {m50:9.2f}ms {m99:6.2f}ms {r50:9.2f}ms {r99:6.2f}ms {r50 / m50:10.2f} {r99 / m99:10.2f}")


if __name__ == "__main__":
    main()
