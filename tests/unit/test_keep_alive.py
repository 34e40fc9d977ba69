"""The servers keep an idle connection longer than the OHIP client does, so the client's pool is never dropped
under it (the benchmark counts the connections: bench/bench_tool_call.py)."""

from __future__ import annotations

from app.cli import SERVER_KEEP_ALIVE_S
from app.opera.http import POOL_LIMITS


def test_the_servers_keep_alive_outlasts_the_ohip_clients() -> None:
    assert POOL_LIMITS.keepalive_expiry is not None
    assert POOL_LIMITS.keepalive_expiry < SERVER_KEEP_ALIVE_S
