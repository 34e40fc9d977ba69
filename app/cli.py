"""Console entry `opera-cloud-mcp`: serve (default), stdio, sandbox, check-config, new-api-key, backup, restore,
audit."""

from __future__ import annotations

import argparse
import contextlib
import errno
import json
import signal
import socket
import sys
import threading
from collections.abc import Callable, Iterator, Sequence
from types import FrameType
from typing import Any

import uvicorn
from sse_starlette.sse import AppStatus

from app import __version__
from app.config import ConfigError, Settings, load_settings

EXIT_CONFIG = 2
#: uvicorn's idle keep-alive, for the MCP endpoint, the embedded sandbox and `opera-cloud-mcp sandbox`: longer than
#: the OHIP client keeps an idle connection (app/opera/http.py POOL_LIMITS, 30 s), so a quiet moment never makes the
#: server drop a connection the client is about to reuse (uvicorn's 5 s default opened 63 connections in 10,000
#: calls to the sandbox instead of the pool's 20).
SERVER_KEEP_ALIVE_S = 35


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
        if sig != signal.SIGTERM or not self.started:
            # Ctrl-C, or any stop before serving began (no load balancer has seen this replica ready yet, so there
            # is nothing to drain): uvicorn's own behaviour, which ends start-up at once (a second one forces exit).
            super().handle_exit(sig, frame)
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


#: The signals that stop a server: Ctrl-C and an orchestrator's (or systemd's) stop.
STOP_SIGNALS = (signal.SIGINT, signal.SIGTERM)


@contextlib.contextmanager
def stop_signals_to(server: uvicorn.Server) -> Iterator[None]:
    """From the banner on, SIGINT and SIGTERM ask `server` to stop, also in the moments before uvicorn puts its own
    handlers in place (a Ctrl-C right after the banner used to raise KeyboardInterrupt wherever start-up happened to
    be, print a traceback and, now and then, leave the process hanging). uvicorn's handlers stand in for these
    while it serves and hand back to them; once serving is over the defaults are back, so a Ctrl-C during the last
    clean-up still interrupts it (and `entrypoint` ends that without a traceback)."""
    for sig in STOP_SIGNALS:
        signal.signal(sig, server.handle_exit)
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, signal.default_int_handler)
        signal.signal(signal.SIGTERM, signal.SIG_DFL)


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
    sub.add_parser("stdio", help="serve MCP over stdin/stdout, for desktop clients that launch servers (logs on "
                                 "stderr)")
    sub.add_parser("check-config", help="print the effective configuration with secrets masked")
    new_key = sub.add_parser("new-api-key", help="print a new API key and the OPERA_MCP_API_KEYS line that admits it")
    new_key.add_argument("--name", required=True, help="who or what uses the key, e.g. frontdesk-bot")
    new_key.add_argument("--scopes", default="opera:read", help="comma-separated: opera:read,opera:write,opera:billing")
    new_key.add_argument("--hotels", default="*", help="comma-separated hotel codes, or * for every hotel")
    from app.ops import add_commands

    add_commands(sub)  # backup, restore, audit
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
    """The endpoint and a client entry to paste, with the header a client must send when the server wants one."""
    host = "127.0.0.1" if settings.host in ("0.0.0.0", "::") else settings.host
    if ":" in host:
        host = f"[{host}]"
    url = f"http://{host}:{settings.port}/mcp"
    entry: dict[str, Any] = {"type": "http", "url": url}
    if settings.mcp_auth == "api_key":
        entry["headers"] = {"Authorization": "Bearer <your key>"}
    elif settings.mcp_auth == "oauth":
        entry["headers"] = {"Authorization": "Bearer <access token>"}
    config = {"mcpServers": {"opera-cloud": entry}}
    return (f"MCP endpoint: {url}\nClient configuration (Claude Code .mcp.json, Cursor .cursor/mcp.json; VS Code "
            f"wants the entry under \"servers\" in .vscode/mcp.json; Claude Desktop: `opera-cloud-mcp stdio`):\n"
            f"{json.dumps(config, indent=2)}")


#: What check-config says of a value nobody set but the server derives.
SANDBOX_NOTE = "default: the embedded sandbox's"


def effective_settings(settings: Settings) -> list[tuple[str, str, str]]:
    """(OPERA_* name, the value the server uses, how it came about when it was not set) for every setting; secrets
    masked as ********. What check-config prints."""
    from app.opera.auth import DEFAULT_SCOPE
    from app.security.layer import LOOPBACK_HOSTS, LOOPBACK_ORIGINS

    s = settings
    sandbox = s.sandbox_mode
    derived: dict[str, tuple[Any, str]] = {}
    if sandbox:
        derived["client_id"] = (s.effective_client_id, SANDBOX_NOTE)
        derived["client_secret"] = ("********", SANDBOX_NOTE + ", a public demo credential")
        derived["app_key"] = ("********", SANDBOX_NOTE)
        derived["base_url"] = (s.effective_base_url, "derived: the embedded sandbox on OPERA_HOST:OPERA_PORT")
        derived["enterprise_id"] = (s.effective_enterprise_id, SANDBOX_NOTE)
    if s.cashier_id is None:
        derived["cashier_id"] = (s.effective_cashier_id, SANDBOX_NOTE + " app cashier") if sandbox else (
            "", "unset: no tool that posts money is offered")
    if s.token_url is None:
        derived["token_url"] = (s.effective_token_url, "derived from OPERA_BASE_URL")
    if s.scope is None:
        derived["scope"] = (DEFAULT_SCOPE, "derived: every scope granted to the OHIP application")
    hosts = [*s.allowed_hosts, *LOOPBACK_HOSTS]
    if not s.is_loopback_bind and s.host not in ("0.0.0.0", "::"):
        hosts.append(f"[{s.host}]:*" if ":" in s.host else f"{s.host}:*")
    derived["allowed_hosts"] = (hosts, "default: loopback" if not s.allowed_hosts else "loopback added")
    derived["allowed_origins"] = ([*s.allowed_origins, *LOOPBACK_ORIGINS],
                                  "default: loopback" if not s.allowed_origins else "loopback added")
    if s.graceful_shutdown_timeout is None:
        derived["graceful_shutdown_timeout"] = (
            s.drain_timeout, "derived: OPERA_LIMITER_MAX_WAIT + OPERA_REQUEST_TIMEOUT + 5 s")
    if not s.business_events_hotels:
        derived["business_events_hotels"] = (s.event_hotels, "default: OPERA_DEFAULT_HOTEL_ID")
    if s.mcp_auth == "oauth" and s.mcp_oauth_audience is None and s.mcp_resource_url:
        derived["mcp_oauth_audience"] = (s.mcp_resource_url, "default: OPERA_MCP_RESOURCE_URL")
    if s.request_state_key is None:
        derived["request_state_key"] = ("", "unset: a key per process in sandbox mode" if sandbox else
                                        "unset: derived from OPERA_CLIENT_SECRET, the same on every replica")
    rows: list[tuple[str, str, str]] = []
    for name, value in settings.masked().items():
        if name.startswith("("):
            continue
        field = name.removeprefix("OPERA_").lower()
        note = ""
        if field in derived:
            value, note = derived[field]
        elif value is None:
            value, note = "", "unset"
        shown = ",".join(map(str, value)) if isinstance(value, list) else str(value)
        rows.append((name, shown, note))
    rows.append(("(mode)", s.mode, "no OHIP credentials set" if sandbox else ""))
    return rows


def bind_listener(host: str, port: int) -> socket.socket | str:
    """The listening socket uvicorn will serve on, bound before anything is printed; or why it cannot be, in one
    line (the port is taken, the address is not this machine's, or needs privileges)."""
    where = f"[{host}]:{port}" if ":" in host else f"{host}:{port}"
    try:
        family, kind, proto, _, address = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM,
                                                             flags=socket.AI_PASSIVE)[0]
    except (socket.gaierror, UnicodeError):
        return (f"cannot listen on {where}: {host!r} is not an address or name this machine resolves "
                "(OPERA_HOST / --host; e.g. 127.0.0.1, or 0.0.0.0 for every interface)")
    sock = socket.socket(family, kind, proto)
    # As uvicorn's own bind: a port whose last connections are in TIME_WAIT can be bound again at once.
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind(address)
    except OSError as exc:
        sock.close()
        if exc.errno == errno.EADDRINUSE:
            return (f"cannot listen on {where}: the port is in use (another opera-cloud-mcp?); stop that process or "
                    "choose another port with --port / OPERA_PORT")
        if exc.errno == errno.EADDRNOTAVAIL:
            return (f"cannot listen on {where}: {host} is not an address of this machine; set OPERA_HOST / --host "
                    "to one of its addresses, 127.0.0.1, or 0.0.0.0 for every interface")
        if exc.errno == errno.EACCES:
            return f"cannot listen on {where}: ports below 1024 need privileges; choose a port such as 8000"
        return f"cannot listen on {where}: {exc.strerror or exc}"
    sock.set_inheritable(True)
    return sock


def serve(settings: Settings) -> int:
    from app.server import build_redactor, create_app
    from app.telemetry.logging import configure_logging
    from app.telemetry.tracing import setup_tracing

    listener = bind_listener(settings.host, settings.port)
    if isinstance(listener, str):
        return _fail(listener)
    configure_logging(level=settings.log_level, structured=settings.enable_structured_logging,
                      redactor=build_redactor(settings), environment=settings.environment)
    provider = setup_tracing(settings)
    app = create_app(settings)
    from app.security.audit import reopen_on_sighup

    reopen_on_sighup(app.state.security.audit.sink)  # logrotate's postrotate: reopen the audit file
    mode = "SANDBOX (embedded OHIP emulator, no credentials set)" if settings.sandbox_mode else "OHIP"
    # No access log: a request line can hold a credential sent in a URL (refused with 400, but the log line would be
    # written first), and inbound requests are already counted in opera_http_requests_total. proxy_headers off:
    # OPERA_TRUSTED_PROXIES decides whose X-Forwarded-For is believed (app/security/middleware.py).
    config = uvicorn.Config(app, host=settings.host, port=settings.port, log_config=None, lifespan="on",
                            timeout_graceful_shutdown=int(settings.drain_timeout) or None,
                            proxy_headers=False, server_header=False, access_log=False,
                            timeout_keep_alive=SERVER_KEEP_ALIVE_S)
    server = DrainingServer(config, app.state.lifecycle.begin_drain, settings.shutdown_delay)
    # sse-starlette ends every SSE response as soon as uvicorn is asked to exit; MCP tool calls answer over SSE,
    # so that would cut in-flight calls. uvicorn's --timeout-graceful-shutdown bounds the drain instead.
    AppStatus.disable_automatic_graceful_drain()  # type: ignore[no-untyped-call]
    try:
        with stop_signals_to(server):
            print(f"opera-cloud-mcp {__version__} · mode {mode} · {settings.environment}\n"
                  f"{client_snippet(settings)}", file=sys.stderr, flush=True)
            if not server.should_exit:  # else stopped while the banner was printed: nothing was started
                server.run(sockets=[listener])
    finally:
        listener.close()
        if provider is not None:
            provider.shutdown()
    if not server.started:
        return 0 if server.should_exit else 1
    # A drain that had to cut calls is not clean: the orchestrator (and an operator) should see it.
    return 1 if app.state.lifecycle.calls_cut else 0


def run_sandbox(settings: Settings, args: argparse.Namespace | None = None) -> int:
    from app.sandbox.app import SandboxConfig, create_sandbox_app
    from app.telemetry.logging import configure_logging

    quota_rps = getattr(args, "quota_rps", None) or settings.sandbox_quota_rps
    quota_burst = getattr(args, "quota_burst", None) or settings.sandbox_quota_burst
    if quota_burst is not None and quota_rps is None:
        return _fail("--quota-burst needs --quota-rps")
    config = SandboxConfig(seed=settings.sandbox_seed, business_date=settings.sandbox_business_date,
                           night_audits=settings.sandbox_night_audits,
                           token_ttl=settings.sandbox_token_ttl, quota_rps=quota_rps, quota_burst=quota_burst,
                           request_log_max=settings.sandbox_request_log_max, hotels=tuple(settings.sandbox_hotels),
                           external_systems=(settings.external_system_code,))
    try:
        app = create_sandbox_app(config)
    except ValueError as exc:
        return _fail(f"sandbox: {exc}")
    listener = bind_listener(settings.host, settings.port)
    if isinstance(listener, str):
        return _fail(listener)
    configure_logging(level=settings.log_level, structured=settings.enable_structured_logging,
                      environment="sandbox")
    quota = f"quota {quota_rps:g}/s, burst {app.state.sandbox.quota.limits.burst}" if quota_rps else "no quota"
    server = uvicorn.Server(uvicorn.Config(app, host=settings.host, port=settings.port, log_config=None,
                                           server_header=False, timeout_keep_alive=SERVER_KEEP_ALIVE_S))
    try:
        with stop_signals_to(server):
            print(f"OHIP sandbox on http://{settings.host}:{settings.port} (client id {config.client_id}, "
                  f"secret {config.client_secret}, app key {config.app_key}; hotels {', '.join(config.hotels)}; "
                  f"business date {next(iter(app.state.sandbox.enterprise.hotels.values())).business_date}; "
                  f"{quota})", file=sys.stderr, flush=True)
            if not server.should_exit:
                server.run(sockets=[listener])
    finally:
        listener.close()
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    try:
        settings = load_settings(**_overrides(args))
    except ConfigError as exc:
        return _fail(str(exc))
    if args.command == "check-config":
        for name, value, note in effective_settings(settings):
            print(f"{name}={value}" + (f" ({note})" if note else ""))
        return 0
    if args.command == "sandbox":
        return run_sandbox(settings, args)
    from app.ops import COMMANDS, run_command

    if args.command in COMMANDS:
        return run_command(args, settings)
    if args.command == "new-api-key":
        return print_new_api_key(args)
    from app.security.layer import startup_refusal

    if args.command == "stdio":
        from app.stdio import run_stdio

        return run_stdio(settings)
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
    try:
        code = main()
    except KeyboardInterrupt:  # Ctrl-C before a server's signal handling is in place, or during its last clean-up
        print("opera-cloud-mcp: interrupted", file=sys.stderr)
        code = 128 + signal.SIGINT
    sys.exit(code)
