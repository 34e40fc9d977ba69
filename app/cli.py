"""Console entry `opera-cloud-mcp`: serve (default), sandbox, check-config."""

from __future__ import annotations

import argparse
import json
import signal
import sys
import threading
from collections.abc import Callable, Sequence
from types import FrameType
from typing import Any

import uvicorn
from sse_starlette.sse import AppStatus

from app import __version__
from app.config import ConfigError, Settings, load_settings

EXIT_CONFIG = 2


class DrainingServer(uvicorn.Server):
    """uvicorn.Server that, on the first SIGTERM, turns /ready to 503 at once and keeps serving for
    `delay` seconds (so load balancers stop sending new work) before uvicorn's own graceful shutdown, which
    finishes in-flight calls within --timeout-graceful-shutdown."""

    def __init__(self, config: uvicorn.Config, on_drain: Callable[[], None], delay: float) -> None:
        super().__init__(config)
        self.on_drain = on_drain
        self.delay = delay
        self._drain_started = False

    def handle_exit(self, sig: int, frame: FrameType | None) -> None:
        self.on_drain()
        if sig != signal.SIGTERM:
            super().handle_exit(sig, frame)  # Ctrl-C: uvicorn's own behaviour (a second one forces exit)
            return
        # SIGTERM is an orchestrator's normal stop: drain, then exit 0. (uvicorn itself would re-raise the
        # signal after shutting down, so the process would die with status 143.)
        if self._drain_started:
            return
        self._drain_started = True
        if self.delay > 0:
            timer = threading.Timer(self.delay, self._stop)
            timer.daemon = True
            timer.start()
        else:
            self._stop()

    def _stop(self) -> None:
        self.should_exit = True


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="opera-cloud-mcp", description="MCP server for Oracle OPERA Cloud (OHIP).")
    p.add_argument("--version", action="version", version=f"opera-cloud-mcp {__version__}")
    sub = p.add_subparsers(dest="command")
    serve = sub.add_parser("serve", help="run the MCP server (the default)")
    sandbox = sub.add_parser("sandbox", help="run the OHIP sandbox alone")
    for sp in (p, serve, sandbox):
        sp.add_argument("--host", default=None, help="bind address (OPERA_HOST, default 127.0.0.1)")
        sp.add_argument("--port", default=None, help="bind port (OPERA_PORT, default 8000)")
    sandbox.add_argument("--seed", type=int, default=None, help="seed of the generated hotels (OPERA_SANDBOX_SEED)")
    sandbox.add_argument("--business-date", default=None, help="the hotels' business date, YYYY-MM-DD")
    sandbox.add_argument("--night-audits", type=int, default=None,
                         help="run OPERA's night audit N times after seeding: nights posted, no-shows, date + N")
    sandbox.add_argument("--quota-rps", type=float, default=None,
                         help="OHIP's throttle: calls per second that pass at once (OHIP: 50; default off)")
    sandbox.add_argument("--quota-burst", type=int, default=None,
                         help="calls per second before 429; those past --quota-rps wait 1 s (default 2x rps)")
    sub.add_parser("check-config", help="print the effective configuration with secrets masked")
    new_key = sub.add_parser("new-api-key", help="print a new API key and the OPERA_MCP_API_KEYS line that admits it")
    new_key.add_argument("--name", required=True, help="who or what uses the key, e.g. frontdesk-bot")
    new_key.add_argument("--scopes", default="opera:read", help="comma-separated: opera:read,opera:write,opera:billing")
    new_key.add_argument("--hotels", default="*", help="comma-separated hotel codes, or * for every hotel")
    return p


def _overrides(args: argparse.Namespace) -> dict[str, Any]:
    out: dict[str, Any] = {}
    if getattr(args, "host", None):
        out["host"] = args.host
    if getattr(args, "port", None) is not None:
        out["port"] = args.port
    if getattr(args, "seed", None) is not None:
        out["sandbox_seed"] = args.seed
    if getattr(args, "business_date", None):
        out["sandbox_business_date"] = args.business_date
    if getattr(args, "night_audits", None) is not None:
        out["sandbox_night_audits"] = args.night_audits
    return out


def _fail(message: str) -> int:
    print(message, file=sys.stderr)
    return EXIT_CONFIG


def client_snippet(settings: Settings) -> str:
    host = "127.0.0.1" if settings.host in ("0.0.0.0", "::") else settings.host
    url = f"http://{host}:{settings.port}/mcp"
    config = {"mcpServers": {"opera-cloud": {"type": "http", "url": url}}}
    return f"MCP endpoint: {url}\nClient configuration:\n{json.dumps(config, indent=2)}"


def serve(settings: Settings) -> int:
    from app.server import build_redactor, create_app
    from app.telemetry.logging import configure_logging
    from app.telemetry.tracing import setup_tracing

    configure_logging(level=settings.log_level, structured=settings.enable_structured_logging,
                      redactor=build_redactor(settings), environment=settings.environment)
    provider = setup_tracing(settings)
    app = create_app(settings)
    mode = "SANDBOX (embedded OHIP emulator, no credentials set)" if settings.sandbox_mode else "OHIP"
    print(f"opera-cloud-mcp {__version__} · mode {mode} · {settings.environment}\n{client_snippet(settings)}",
          file=sys.stderr, flush=True)
    # No access log: a request line can hold a credential sent in a URL (refused with 400, but the log line would be
    # written first), and inbound requests are already counted in opera_http_requests_total. proxy_headers off:
    # OPERA_TRUSTED_PROXIES decides whose X-Forwarded-For is believed (app/security/middleware.py).
    config = uvicorn.Config(app, host=settings.host, port=settings.port, log_config=None, lifespan="on",
                            timeout_graceful_shutdown=int(settings.drain_timeout) or None,
                            proxy_headers=False, server_header=False, access_log=False)
    server = DrainingServer(config, app.state.lifecycle.begin_drain, settings.shutdown_delay)
    # sse-starlette ends every SSE response as soon as uvicorn is asked to exit; MCP tool calls answer over SSE,
    # so that would cut in-flight calls. uvicorn's --timeout-graceful-shutdown bounds the drain instead.
    AppStatus.disable_automatic_graceful_drain()  # type: ignore[no-untyped-call]
    try:
        server.run()
    finally:
        if provider is not None:
            provider.shutdown()
    if not server.started:
        return 1
    # A drain that had to cut calls is not clean: the orchestrator (and an operator) should see it.
    return 1 if app.state.lifecycle.calls_cut else 0


def run_sandbox(settings: Settings, args: argparse.Namespace | None = None) -> int:
    from app.sandbox.app import SandboxConfig, create_sandbox_app
    from app.telemetry.logging import configure_logging

    configure_logging(level=settings.log_level, structured=settings.enable_structured_logging,
                      environment="sandbox")
    quota_rps = getattr(args, "quota_rps", None) or settings.sandbox_quota_rps
    quota_burst = getattr(args, "quota_burst", None) or settings.sandbox_quota_burst
    if quota_burst is not None and quota_rps is None:
        return _fail("--quota-burst needs --quota-rps")
    config = SandboxConfig(seed=settings.sandbox_seed, business_date=settings.sandbox_business_date,
                           night_audits=settings.sandbox_night_audits,
                           token_ttl=settings.sandbox_token_ttl, quota_rps=quota_rps, quota_burst=quota_burst,
                           request_log_max=settings.sandbox_request_log_max,
                           external_systems=(settings.external_system_code,))
    try:
        app = create_sandbox_app(config)
    except ValueError as exc:
        return _fail(f"sandbox: {exc}")
    quota = f"quota {quota_rps:g}/s, burst {app.state.sandbox.quota.limits.burst}" if quota_rps else "no quota"
    print(f"OHIP sandbox on http://{settings.host}:{settings.port} (client id {config.client_id}, "
          f"secret {config.client_secret}, app key {config.app_key}; hotels {', '.join(config.hotels)}; "
          f"business date {next(iter(app.state.sandbox.enterprise.hotels.values())).business_date}; {quota})",
          file=sys.stderr, flush=True)
    uvicorn.run(app, host=settings.host, port=settings.port, log_config=None, server_header=False)
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    try:
        settings = load_settings(**_overrides(args))
    except ConfigError as exc:
        return _fail(str(exc))
    if args.command == "check-config":
        for key, value in settings.masked().items():
            print(f"{key}={value if not isinstance(value, list) else ','.join(map(str, value))}")
        return 0
    if args.command == "sandbox":
        return run_sandbox(settings, args)
    if args.command == "new-api-key":
        return print_new_api_key(args)
    from app.security.layer import startup_refusal

    refusal = startup_refusal(settings)
    if refusal:
        return _fail(f"configuration error: {refusal}")
    return serve(settings)


def print_new_api_key(args: argparse.Namespace) -> int:
    from app.security.api_keys import ApiKeyConfigError, new_api_key

    try:
        made = new_api_key(args.name, args.scopes, args.hotels)
    except ApiKeyConfigError as exc:
        return _fail(f"new-api-key: {exc}")
    print(f"API key (give it to the client; it is not stored anywhere):\n  {made.key}\n"
          f"Line to add to OPERA_MCP_API_KEYS_FILE (or OPERA_MCP_API_KEYS):\n  {made.line}")
    return 0


def entrypoint() -> None:
    sys.exit(main())
