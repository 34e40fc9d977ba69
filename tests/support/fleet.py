"""Several real server processes on loopback: `python -m app` replicas sharing one Redis and one sandbox, and a
standalone sandbox process. Each is stopped (SIGTERM, then SIGKILL) when its context ends."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from pathlib import Path
from typing import Any

import httpx2

from app.config import (
    SANDBOX_APP_KEY,
    SANDBOX_CASHIER_ID,
    SANDBOX_CLIENT_ID,
    SANDBOX_CLIENT_SECRET,
    SANDBOX_ENTERPRISE_ID,
)
from tests.support.servers import free_port

CLEAN_ENV = {k: v for k, v in os.environ.items() if not k.startswith(("OPERA_", "OTEL_"))}


class Process:
    """One child process serving HTTP on 127.0.0.1:<port>; its stderr goes to a temporary file."""

    def __init__(self, name: str, args: list[str], env: dict[str, str], port: int, ready_path: str) -> None:
        self.name = name
        self.args = args
        self.env = env
        self.port = port
        self.ready_path = ready_path
        self._log = tempfile.NamedTemporaryFile(prefix=f"{name}-", suffix=".log", delete=False)  # noqa: SIM115
        self.log_path = Path(self._log.name)
        self.proc: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self, timeout: float = 60.0) -> Process:
        self.proc = subprocess.Popen(self.args, env=self.env, stdout=self._log, stderr=self._log)
        deadline = time.monotonic() + timeout
        while True:
            try:
                if httpx2.get(self.url + self.ready_path, timeout=2).status_code == 200:
                    return self
            except httpx2.TransportError:
                pass
            if self.proc.poll() is not None:
                raise RuntimeError(f"{self.name} exited with {self.proc.returncode}:\n{self.output()[-3000:]}")
            if time.monotonic() > deadline:
                raise TimeoutError(f"{self.name} was not ready in {timeout} s:\n{self.output()[-3000:]}")
            time.sleep(0.1)

    def output(self) -> str:
        return self.log_path.read_text(errors="replace")

    def signal(self, sig: int) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(sig)

    def wait(self, timeout: float) -> int:
        assert self.proc is not None
        return self.proc.wait(timeout)

    def stop(self) -> None:
        if self.proc is None:
            return
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(20)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(5)
        self._log.close()
        self.log_path.unlink(missing_ok=True)


def replica_env(sandbox_url: str, redis_url: str | None, port: int, **extra: Any) -> dict[str, str]:
    env = {
        **CLEAN_ENV,
        "OPERA_CLIENT_ID": SANDBOX_CLIENT_ID,
        "OPERA_CLIENT_SECRET": SANDBOX_CLIENT_SECRET,
        "OPERA_APP_KEY": SANDBOX_APP_KEY,
        "OPERA_ENTERPRISE_ID": SANDBOX_ENTERPRISE_ID,
        "OPERA_CASHIER_ID": str(SANDBOX_CASHIER_ID),
        "OPERA_BASE_URL": sandbox_url,
        "OPERA_PORT": str(port),
        "OPERA_ENVIRONMENT": "test",
        "OPERA_LOG_LEVEL": "WARNING",
    }
    if redis_url is not None:
        env["OPERA_REDIS_URL"] = redis_url
    env.update({f"OPERA_{k.upper()}": str(v) for k, v in extra.items()})
    return env


def replica(name: str, sandbox_url: str, redis_url: str | None, **extra: Any) -> Process:
    port = free_port()
    return Process(name, [sys.executable, "-m", "app"], replica_env(sandbox_url, redis_url, port, **extra), port,
                   "/ready")


@contextmanager
def replicas(sandbox_url: str, redis_url: str | None, count: int, **extra: Any) -> Iterator[list[Process]]:
    """`count` replicas of the server, started one after another, stopped together."""
    with ExitStack() as stack:
        started = []
        for index in range(count):
            proc = replica(f"replica-{index + 1}", sandbox_url, redis_url, **extra)
            stack.callback(proc.stop)
            started.append(proc.start())
        yield started


@contextmanager
def standalone_sandbox(*flags: str) -> Iterator[Process]:
    """`opera-cloud-mcp sandbox` in its own process (its clock and CPU are not the test's)."""
    port = free_port()
    env = {**CLEAN_ENV, "OPERA_LOG_LEVEL": "WARNING"}
    proc = Process("sandbox", [sys.executable, "-m", "app", "sandbox", "--port", str(port),
                               "--business-date", "2026-05-01", *flags], env, port, "/_sandbox/stats")
    try:
        yield proc.start()
    finally:
        proc.stop()


class RoundRobin:
    """A minimal loopback load balancer: each POST goes to the next upstream, no stickiness (as HAProxy is set up
    in deploy/compose). It keeps a count of requests per upstream."""

    def __init__(self, upstreams: list[str]) -> None:
        self.upstreams = upstreams
        self.sent = dict.fromkeys(upstreams, 0)
        self._next = 0

    def app(self) -> Any:
        from starlette.applications import Starlette
        from starlette.requests import Request
        from starlette.responses import Response
        from starlette.routing import Route

        async def forward(request: Request) -> Response:
            upstream = self.upstreams[self._next % len(self.upstreams)]
            self._next += 1
            self.sent[upstream] += 1
            headers = {k: v for k, v in request.headers.items() if k.lower() not in ("host", "content-length")}
            async with httpx2.AsyncClient(timeout=60) as http:
                answer = await http.request(request.method, upstream + request.url.path, content=await request.body(),
                                            headers=headers)
            kept = {k: v for k, v in answer.headers.items()
                    if k.lower() not in ("content-length", "transfer-encoding", "connection", "content-encoding")}
            return Response(answer.content, status_code=answer.status_code, headers=kept)

        return Starlette(routes=[Route("/{path:path}", forward, methods=["GET", "POST", "DELETE"])])
