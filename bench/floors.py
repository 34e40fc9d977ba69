"""The floors a tool call is measured against (A, A', B), each its own process started by bench/bench_tool_call.py.

    python -m bench.floors mcp --port P [--result FILE]
        A: a bare MCPServer with one async tool, served by uvicorn as app/cli.py serves the product (stateless,
        SSE answers, no access log, no proxy headers, no server header, the same keep-alive).
        With --result, A': the same server whose tool answers with FILE's JSON object (the product's own
        structured result for the benchmark's reservation), so the SDK dumps and sends a result of the product's size.
    python -m bench.floors ohip --url URL --token T --hotel H --concurrency C --requests N [--library httpx2]
        B: one pooled AsyncClient sending the product's exact getReservation GET (the same headers, the same pool
        limits) C at a time, N in all; prints one JSON line: per-call latencies (ms) and the process CPU seconds
        the N calls took.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import time
import uuid
from collections.abc import Coroutine
from typing import Any


def bare_mcp_app(product_result: dict[str, Any] | None = None) -> Any:
    """Floor A's ASGI app: a bare MCPServer with one async tool (A' when it answers with `product_result`)."""
    from mcp.server.mcpserver import MCPServer

    mcp = MCPServer("floor")

    @mcp.tool()
    async def get_reservation(reservation_id: str, hotel_id: str | None = None) -> dict[str, Any]:
        """The floor's one tool: answers at once."""
        if product_result is not None:
            return product_result
        return {"reservation_id": reservation_id, "hotel_id": hotel_id, "status": "InHouse"}

    return mcp.streamable_http_app(stateless_http=True, json_response=False)


def serve_bare_mcp(port: int, result_file: str | None = None) -> None:
    import uvicorn

    from app.cli import SERVER_KEEP_ALIVE_S

    product_result: dict[str, Any] | None = None
    if result_file is not None:
        with open(result_file, encoding="utf-8") as f:
            product_result = json.load(f)
    uvicorn.run(bare_mcp_app(product_result), host="127.0.0.1", port=port, log_config=None, lifespan="on",
                proxy_headers=False, server_header=False, access_log=False, timeout_keep_alive=SERVER_KEEP_ALIVE_S)


def floor_b_client(client_mod: Any) -> Any:
    """Floor B's one pooled AsyncClient (httpx or httpx2: the same API), with the product's pool limits."""
    limits = client_mod.Limits(max_connections=50, max_keepalive_connections=20, keepalive_expiry=30)
    transport = client_mod.AsyncHTTPTransport(limits=limits, retries=0)
    return client_mod.AsyncClient(transport=transport, timeout=client_mod.Timeout(30.0), follow_redirects=False,
                                  headers={"User-Agent": "opera-cloud-mcp/bench"})


def floor_b_headers(token: str, hotel: str) -> dict[str, str]:
    """The headers the product sends with its getReservation GET (a fresh x-request-id each time)."""
    from app.config import SANDBOX_APP_KEY

    return {"Authorization": f"Bearer {token}", "x-app-key": SANDBOX_APP_KEY, "x-hotelid": hotel,
            "x-request-id": str(uuid.uuid4()), "x-externalsystem": "OPERAMCP", "Accept": "application/json"}


async def ohip_floor(url: str, token: str, hotel: str, concurrency: int, requests: int, library: str) -> None:
    client_mod: Any
    if library == "httpx2":
        import httpx2 as client_mod
    else:
        import httpx as client_mod
    async with floor_b_client(client_mod) as client:

        async def one() -> float:
            headers = floor_b_headers(token, hotel)
            start = time.perf_counter()
            response = await client.send(client.build_request("GET", url, headers=headers))
            response.json()
            if response.status_code != 200:
                raise SystemExit(f"floor B: {response.status_code} {response.text[:200]}")
            return (time.perf_counter() - start) * 1000

        latencies: list[float] = []
        remaining = requests

        async def worker() -> None:
            nonlocal remaining
            while remaining > 0:
                remaining -= 1
                latencies.append(await one())

        for _ in range(min(50, requests)):  # warm the pool and the imports
            await one()
        cpu = time.process_time()
        wall = time.perf_counter()
        await asyncio.gather(*(worker() for _ in range(concurrency)))
        wall = time.perf_counter() - wall
        cpu = time.process_time() - cpu
    print(json.dumps({"latencies_ms": latencies, "cpu_s": cpu, "wall_s": wall}))


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser()
    sub = parser.add_subparsers(dest="floor", required=True)
    a = sub.add_parser("mcp")
    a.add_argument("--port", type=int, required=True)
    a.add_argument("--result", default=None, help="a JSON object file the tool answers with (floor A')")
    b = sub.add_parser("ohip")
    b.add_argument("--url", required=True)
    b.add_argument("--token", required=True)
    b.add_argument("--hotel", default="SAND01")
    b.add_argument("--concurrency", type=int, default=1)
    b.add_argument("--requests", type=int, default=500)
    b.add_argument("--library", choices=("httpx", "httpx2"), default="httpx")
    args = parser.parse_args(argv)
    if args.floor == "mcp":
        serve_bare_mcp(args.port, args.result)
    else:
        run_like_the_product(ohip_floor(args.url, args.token, args.hotel, args.concurrency, args.requests,
                                        args.library))


def run_like_the_product(main: Coroutine[Any, Any, None]) -> None:
    """Run on the event loop the product's OHIP client runs on: uvicorn's "auto" loop is uvloop when it is
    installed, plain asyncio otherwise (so floor B's loop is always the product's)."""
    try:
        import uvloop
    except ImportError:
        asyncio.run(main)
    else:
        uvloop.run(main)


if __name__ == "__main__":
    main()
