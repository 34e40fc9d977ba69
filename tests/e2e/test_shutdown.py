"""SIGTERM during a slow call: /ready turns 503 at once, the call finishes, the process exits cleanly."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import subprocess
import sys
import time
from typing import Any

import httpx2
import pytest

from tests.support.servers import free_port

CLEAN_ENV = {k: v for k, v in os.environ.items() if not k.startswith(("OPERA_", "OTEL_"))}


async def test_sigterm_drains_in_flight_calls_while_ready_is_503() -> None:
    port = free_port()
    env = {
        **CLEAN_ENV,
        "OPERA_PORT": str(port),
        "OPERA_SHUTDOWN_DELAY": "2",
        "OPERA_GRACEFUL_SHUTDOWN_TIMEOUT": "20",
        "OPERA_SANDBOX_BUSINESS_DATE": "2026-05-01",
        "OPERA_LOG_LEVEL": "WARNING",
    }
    proc = subprocess.Popen(  # noqa: ASYNC220 - the server under test runs beside the event loop
        [sys.executable, "-m", "app"], env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )
    base = f"http://127.0.0.1:{port}"
    try:
        async with httpx2.AsyncClient(timeout=10) as http:
            deadline = time.monotonic() + 60
            while True:
                try:
                    if (await http.get(f"{base}/ready")).status_code == 200:
                        break
                except httpx2.TransportError:
                    pass
                assert proc.poll() is None, proc.communicate()
                assert time.monotonic() < deadline, "server never became ready"
                await asyncio.sleep(0.2)
            # Make the next reservation search take 4 s at the (embedded) OHIP sandbox.
            fault = await http.post(
                f"{base}/sandbox/_sandbox/faults",
                json={"operation": "getHotelReservations", "mode": "stall", "delay": 4.0, "times": 1},
            )
            assert fault.status_code in (200, 201), fault.text

            async def slow_call() -> dict[str, Any]:
                # A raw stateless POST: the in-flight request itself is what must survive the drain.
                body = {"jsonrpc": "2.0", "id": 1, "method": "tools/call",
                        "params": {"name": "search_reservations", "arguments": {"surname": "Smith"}}}
                headers = {"accept": "application/json, text/event-stream", "content-type": "application/json",
                           "mcp-protocol-version": "2025-11-25"}
                async with httpx2.AsyncClient(timeout=30) as own:
                    r = await own.post(f"{base}/mcp", json=body, headers=headers)
                assert r.status_code == 200, r.text
                data = [line[5:] for line in r.text.splitlines() if line.startswith("data:")]
                message: dict[str, Any] = json.loads(data[-1] if data else r.text)
                return message

            call = asyncio.create_task(slow_call())
            # Wait until the stall has fired: the call is then waiting on the stalled OHIP response (4 s).
            deadline = time.monotonic() + 3
            while (await http.get(f"{base}/sandbox/_sandbox/faults")).json()["faults"]:
                assert time.monotonic() < deadline and not call.done(), "the slow call never reached OHIP"
                await asyncio.sleep(0.02)
            assert not call.done()
            proc.send_signal(signal.SIGTERM)
            # /ready turns 503 as soon as the signal is handled, well inside the 2 s shutdown delay.
            deadline = time.monotonic() + 1.5
            while (ready := await http.get(f"{base}/ready")).status_code != 503:
                assert time.monotonic() < deadline, "/ready still 200 after SIGTERM"
                await asyncio.sleep(0.02)
            assert any("draining" in r for r in ready.json()["reasons"])
            assert (await http.get(f"{base}/live")).status_code == 200
            message = await asyncio.wait_for(call, timeout=30)
            result = message["result"]
            assert result.get("isError") is not True, result
            assert result["structuredContent"]["reservations"] is not None  # a real answer, after SIGTERM
        assert proc.wait(timeout=30) == 0
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        _, err = proc.communicate()
        assert "Traceback" not in err, err[-3000:]


def _stop_at(command: list[str], moment: str, sig: signal.Signals) -> tuple[int, str, float]:
    """Start `python -m app <command>` on a free port, send `sig` right after its banner line or once it answers
    HTTP, and return (exit status, stderr, seconds from the signal to the exit)."""
    port = free_port()
    proc = subprocess.Popen([sys.executable, "-m", "app", *command, "--port", str(port)],
                            env={**CLEAN_ENV, "OPERA_LOG_LEVEL": "WARNING"},
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    assert proc.stderr is not None
    banner = proc.stderr.readline()  # the first line: the version and mode, or the sandbox's address
    if moment == "ready":
        path = "/ready" if command[:1] != ["sandbox"] else "/_sandbox/stats"
        deadline = time.monotonic() + 60
        while True:
            try:
                if httpx2.get(f"http://127.0.0.1:{port}{path}", timeout=2).status_code == 200:
                    break
            except httpx2.TransportError:
                pass
            assert proc.poll() is None and time.monotonic() < deadline, "never answered " + path
            time.sleep(0.1)
    sent = time.monotonic()
    proc.send_signal(sig)
    try:
        rest = proc.communicate(timeout=30)[1]
    except subprocess.TimeoutExpired:
        proc.kill()
        raise AssertionError(f"still running 30 s after {sig.name} ({moment})") from None
    return proc.returncode, banner + rest, time.monotonic() - sent


@pytest.mark.parametrize(("command", "moment", "sig"), [
    ([], "banner", signal.SIGINT),
    ([], "banner", signal.SIGTERM),
    ([], "ready", signal.SIGINT),
    (["sandbox"], "banner", signal.SIGINT),
    (["sandbox"], "ready", signal.SIGINT),
], ids=["serve-banner-INT", "serve-banner-TERM", "serve-ready-INT", "sandbox-banner-INT", "sandbox-ready-INT"])
def test_a_stop_signal_at_any_moment_of_start_up_exits_0_without_a_traceback(
        command: list[str], moment: str, sig: signal.Signals) -> None:
    # An operator's Ctrl-C just after the banner used to land wherever start-up was: a KeyboardInterrupt traceback,
    # exit status -2, now and then a process that never ended; after /ready it still printed a traceback.
    code, stderr, took = _stop_at(command, moment, sig)
    assert "Traceback" not in stderr, stderr
    assert code == 0, (code, stderr)
    assert took < 20, took
