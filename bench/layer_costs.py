"""Benchmark: what each layer of the product adds to one tool call, in microseconds of CPU, by switching it off.

    uv run python -m bench.layer_costs [--calls 1500] [--rounds 5] [--concurrency 1]

bench/bench_tool_call.py measures the whole call over HTTP against floors A and B. This one says where the
product's excess goes. Every variant is the product's own app (`create_app`), built in this process against one
standalone sandbox process, with one layer taken out before its first request (an ASGI middleware from the
Starlette stack, an MCP middleware from the server's chain, or the INFO log line); floor A is the bare MCPServer of
bench/floors.py and floor B2 one pooled httpx2 client sending the product's exact getReservation GET. Requests are
fed straight to each ASGI app (no uvicorn, no h11, no sockets on the MCP side; the OHIP side is real loopback HTTP),
so the figure per call is this process's CPU (time.process_time) and nothing else runs in it. Rounds are
interleaved (every variant once per round, in a rotated order); each variant's cost is the median over rounds, and
each layer's cost is the median over rounds of (full - without it) measured within the same round.

A variant without a layer is not a product anyone should run: it answers the benchmark's one read, which is all it
is used for (each answer is checked: no tool error).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import os
import statistics
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable
from contextlib import AsyncExitStack
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

import httpx2

from bench.bench_tool_call import (
    HOTEL,
    call_request,
    free_port,
    jsonrpc_answer,
    load_line,
    product_env,
    sandbox_token,
    started,
)
from bench.floors import bare_mcp_app, floor_b_client, floor_b_headers

PORT = 8000  # the Host the product's checks expect (OPERA_PORT); nothing listens on it
ERA = "2026-07-28"
ASGI_LAYERS = ("NarrowingPaths", "InboundMetrics", "JsonRpcBodyTooLarge", "SecurityMiddleware")

App = Callable[[dict[str, Any], Any, Any], Awaitable[None]]


async def post(app: App, headers: dict[str, str], body: bytes) -> bytes:
    """One POST /mcp fed straight to an ASGI app; the response body."""
    scope: dict[str, Any] = {
        "type": "http", "asgi": {"version": "3.0", "spec_version": "2.4"}, "http_version": "1.1", "method": "POST",
        "scheme": "http", "path": "/mcp", "raw_path": b"/mcp", "query_string": b"", "root_path": "",
        "headers": [(b"host", f"127.0.0.1:{PORT}".encode()), (b"content-length", str(len(body)).encode()),
                    *((k.lower().encode(), v.encode()) for k, v in headers.items())],
        "client": ("127.0.0.1", 40000), "server": ("127.0.0.1", PORT), "state": {},
    }
    done = asyncio.Event()
    delivered = False
    chunks: list[bytes] = []

    async def receive() -> dict[str, Any]:
        nonlocal delivered
        if not delivered:
            delivered = True
            return {"type": "http.request", "body": body, "more_body": False}
        await done.wait()
        return {"type": "http.disconnect"}

    async def send(message: dict[str, Any]) -> None:
        if message["type"] == "http.response.body":
            chunks.append(message.get("body", b""))
            if not message.get("more_body", False):
                done.set()

    await app(scope, receive, send)
    done.set()
    return b"".join(chunks)


@dataclass
class Variant:
    name: str
    run: Callable[[], Awaitable[None]]  # one call
    costs: list[float] = field(default_factory=list)  # µs of CPU per call, one per round
    level: int = logging.NOTSET  # the `app` loggers' level while this variant runs (WARNING: no INFO lines)


def mcp_variant(name: str, app: Any, headers: dict[str, str], body: bytes) -> Variant:
    async def one() -> None:
        answer = jsonrpc_answer((await post(app, headers, body)).decode())
        result = answer.get("result")
        if not isinstance(result, dict) or result.get("isError"):
            raise SystemExit(f"{name}: the call failed: {json.dumps(answer)[:300]}")

    return Variant(name, one)


def without(app: Any, layer: str) -> None:
    """Take a layer (or several joined by '+') out of a product app before its first request."""
    if "+" in layer:
        for part in layer.split("+"):
            without(app, part)
    elif layer in ASGI_LAYERS:
        app.user_middleware = [m for m in app.user_middleware if m.cls.__name__ != layer]
        app.middleware_stack = None
    elif layer == "all MCP middleware":
        app.state.mcp.middleware.clear()
    else:
        chain = app.state.mcp.middleware
        kept = [m for m in chain if type(m).__name__ != layer]
        if len(kept) == len(chain):
            raise SystemExit(f"no layer {layer!r}: MCP middleware is {[type(m).__name__ for m in chain]}")
        chain[:] = kept


async def measure(variants: list[Variant], calls: int, rounds: int, concurrency: int) -> None:
    app_logger = logging.getLogger("app")
    for v in variants:  # warm: imports, pools, the cache, the first token
        for _ in range(50):
            await v.run()
    for round_no in range(rounds):
        print(f"round {round_no + 1}/{rounds}: {load_line()}", flush=True)
        shift = round_no % len(variants)
        for v in variants[shift:] + variants[:shift]:
            remaining = calls

            async def worker(run: Callable[[], Awaitable[None]] = v.run) -> None:
                nonlocal remaining
                while remaining > 0:
                    remaining -= 1
                    await run()

            app_logger.setLevel(v.level)
            cpu = time.process_time()
            await asyncio.gather(*(worker() for _ in range(concurrency)))
            v.costs.append((time.process_time() - cpu) / calls * 1e6)
            app_logger.setLevel(logging.NOTSET)


async def run(args: argparse.Namespace, sandbox_url: str, bearer: str, sink: IO[str]) -> None:
    from app.config import load_settings
    from app.opera.http import query_pairs, request_target
    from app.opera.reservations import FULL_RECORD
    from app.server import build_redactor, create_app
    from app.telemetry.logging import configure_logging

    async with AsyncExitStack() as stack:
        settings_for: dict[bool, Any] = {}
        for cache in (True, False):
            os.environ.update(product_env(PORT, sandbox_url, cache=cache))
            settings_for[cache] = load_settings()
        configure_logging(level="INFO", structured=True, redactor=build_redactor(settings_for[True]),
                          environment=settings_for[True].environment, stream=sink)

        async def product(cache: bool) -> Any:
            app = create_app(settings_for[cache])
            await stack.enter_async_context(app.router.lifespan_context(app))
            return app

        probe = await product(False)
        guests = jsonrpc_answer((await post(probe, *call_request(ERA, "list_in_house", {"limit": 1}))).decode())
        reservation_id = str(guests["result"]["structuredContent"]["items"][0]["reservation_id"])
        headers, body = call_request(ERA, "get_reservation", {"reservation_id": reservation_id})
        result = jsonrpc_answer((await post(probe, headers, body)).decode())["result"]["structuredContent"]

        variants = [mcp_variant("product, cache on", await product(True), headers, body),
                    mcp_variant("product, cache off", probe, headers, body)]
        layers = [*ASGI_LAYERS, *(type(m).__name__ for m in probe.state.mcp.middleware), "all MCP middleware",
                  "INFO log lines"]
        if args.layers:
            wanted = args.layers.split(",")
            layers = [name for name in layers if name in wanted] + [name for name in wanted if "+" in name]
        for layer in layers:
            app = await product(True)
            variant = mcp_variant(f"cache on, without {layer}", app, headers, body)
            if layer == "INFO log lines":  # the loggers are the process's: WARNING only while this variant runs
                variant.level = logging.WARNING
            else:
                without(app, layer)
            variants.append(variant)
        for name, floor in (("floor A", bare_mcp_app()), ("floor A'", bare_mcp_app(result))):
            await stack.enter_async_context(floor.router.lifespan_context(floor))
            variants.append(mcp_variant(name, floor, headers, body))

        client = await stack.enter_async_context(floor_b_client(httpx2))
        b_url = sandbox_url + request_target(f"/rsv/v1/hotels/{HOTEL}/reservations/{reservation_id}",
                                             query_pairs({"fetchInstructions": list(FULL_RECORD)}))

        async def floor_b2() -> None:
            response = await client.send(client.build_request("GET", b_url, headers=floor_b_headers(bearer, HOTEL)))
            response.json()
            if response.status_code != 200:
                raise SystemExit(f"floor B2: {response.status_code}")

        variants.append(Variant("floor B2", floor_b2))
        await measure(variants, args.calls, args.rounds, args.concurrency)
        report(variants, layers)


def report(variants: list[Variant], layers: list[str]) -> None:
    costs = {v.name: v.costs for v in variants}

    def rounds(f: Callable[..., float], *names: str) -> list[float]:
        """f over each round's costs of the named variants (every ratio and difference is taken within a round)."""
        return [f(*row) for row in zip(*(costs[n] for n in names), strict=True)]

    def spread(values: list[float]) -> str:
        return f"{statistics.median(values):7.0f} [{min(values):.0f}-{max(values):.0f}]"

    print("\n| variant | CPU µs per call: median [min-max] over rounds |\n|---|---|")
    for v in variants:
        print(f"| {v.name} | {spread(v.costs)} |")
    full = "product, cache on"
    print("\n| layer (cache on) | its cost, µs per call: median [min-max] of (full - without it) per round |"
          "\n|---|---|")
    for layer in layers:
        print(f"| {layer} | {spread(rounds(lambda f, w: f - w, full, f'cache on, without {layer}'))} |")
    print()
    for floor in ("floor A", "floor A'"):
        print(f"cache on - {floor}: {spread(rounds(lambda f, x: f - x, full, floor))} µs per call; "
              f"cache on / {floor}: {statistics.median(rounds(lambda f, x: f / x, full, floor)):.2f}")
    off = "product, cache off"
    print(f"cache off - (floor A + B2): {spread(rounds(lambda o, x, y: o - x - y, off, 'floor A', 'floor B2'))} "
          f"µs per call; cache off / (floor A + B2): "
          f"{statistics.median(rounds(lambda o, x, y: o / (x + y), off, 'floor A', 'floor B2')):.2f}")
    print(f"the OHIP call's cost beyond floor B2 (cache off - cache on - B2): "
          f"{spread(rounds(lambda o, f, y: o - f - y, off, full, 'floor B2'))} µs per call")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--calls", type=int, default=1500, help="calls per variant per round")
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--concurrency", type=int, default=1)
    parser.add_argument("--layers", default="",
                        help="comma-separated layer names to take out (default: each); A+B: A and B together")
    args = parser.parse_args()
    print(f"layer_costs: {load_line()}")
    with tempfile.TemporaryDirectory(prefix="bench-layers-") as tmpdir:
        from app.sandbox.app import CONTROL_PREFIX

        port = free_port()
        # The product's log lines are formatted and written, to nowhere.
        with started("sandbox", [sys.executable, "-m", "app", "sandbox"],
                     {"OPERA_PORT": str(port), "OPERA_HOST": "127.0.0.1"},
                     CONTROL_PREFIX + "/stats", port, Path(tmpdir)) as sandbox, open(os.devnull, "w") as sink:
            asyncio.run(run(args, sandbox.url, sandbox_token(sandbox), sink))
    print(load_line())
    return 0


if __name__ == "__main__":
    sys.exit(main())
