"""The console command: bad configuration stops start-up with exit 2 and one line; check-config masks secrets."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys

import pytest

#: A key's line as `new-api-key` prints it (the SHA-256 of the key, never the key).
KEY_LINE = "frontdesk:f1e5e5dbb9dd7dea684e908aae7e9041e794a1523b69b709e9802c868b3a2407:opera:read:*"
CLEAN_ENV = {k: v for k, v in os.environ.items() if not k.startswith(("OPERA_", "OTEL_"))}


def run_cli(*args: str, env: dict[str, str] | None = None, timeout: float = 60) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "app", *args],
        env={**CLEAN_ENV, **(env or {})},
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )


@pytest.mark.parametrize(
    ("env", "variable", "problem"),
    [
        ({"OPERA_PORT": "abc"}, "OPERA_PORT", "valid integer"),
        ({"OPERA_REQUEST_TIMEOUT": "-5"}, "OPERA_REQUEST_TIMEOUT", "greater than 0"),
        ({"OPERA_SANDBOX_HOTELS": "SAND01,bad code"}, "OPERA_SANDBOX_HOTELS", "'BAD CODE' is not a hotel code"),
        ({"OPERA_SANDBOX_HOTELS": "SAND03,sand03"}, "OPERA_SANDBOX_HOTELS", "names a hotel twice"),
        (
            {"OPERA_CLIENT_ID": "c", "OPERA_CLIENT_SECRET": "s", "OPERA_BASE_URL": "not a url", "OPERA_APP_KEY": "k"},
            "OPERA_BASE_URL",
            "not an http(s) URL",
        ),
        ({"OPERA_CLIENT_ID": "only-the-id"}, "OPERA_CLIENT_SECRET", "half set"),
        (
            {"OPERA_CLIENT_ID": "c", "OPERA_CLIENT_SECRET": "s", "OPERA_BASE_URL": "https://ohip.example.com"},
            "OPERA_APP_KEY",
            "required",
        ),
        (
            {"OPERA_CLIENT_ID": "c", "OPERA_CLIENT_SECRET": "s", "OPERA_BASE_URL": "https://ohip.example.com",
             "OPERA_APP_KEY": "5f7e3b2a-9c41-4d6e-8a2b-1c3d5e7f9a0b"},
            "OPERA_ENTERPRISE_ID",
            "required with OPERA_GRANT_TYPE=client_credentials",
        ),
        (
            {"OPERA_CLIENT_ID": "c", "OPERA_CLIENT_SECRET": "s", "OPERA_BASE_URL": "https://ohip.example.com",
             "OPERA_APP_KEY": "5f7e3b2a-9c41-4d6e-8a2b-1c3d5e7f9a0b", "OPERA_ENTERPRISE_ID": "ENT01"},
            "OPERA_CASHIER_ID",
            "required with real OHIP credentials when the billing or front_desk toolset is on",
        ),
        ({"OPERA_CASHIER_ID": "cashier-4"}, "OPERA_CASHIER_ID", "must be the OPERA cashier's number"),
        ({"OPERA_TOOLSETS": "reservations,spa"}, "OPERA_TOOLSETS", "unknown toolset 'spa'"),
        ({"OPERA_LOG_LEVEL": "LOUD"}, "OPERA_LOG_LEVEL", "Input should be"),
    ],
)
def test_bad_configuration_exits_2_with_one_line_naming_the_variable(
    env: dict[str, str], variable: str, problem: str
) -> None:
    result = run_cli("check-config", env=env)
    assert result.returncode == 2, result
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert variable in lines[0] and problem in lines[0]
    assert "Traceback" not in result.stderr + result.stdout


def test_bad_port_flag_exits_2_for_serve_too() -> None:
    result = run_cli("--port", "abc")
    assert result.returncode == 2
    assert result.stderr.strip().splitlines() == [
        "configuration error: OPERA_PORT: Input should be a valid integer, unable to parse string as an integer "
        "(got 'abc')"
    ]


def test_check_config_prints_effective_values_and_masks_secrets() -> None:
    secret = "very-secret-client-secret-42"
    result = run_cli(
        "check-config",
        env={
            "OPERA_CLIENT_ID": "my-client",
            "OPERA_CLIENT_SECRET": secret,
            "OPERA_BASE_URL": "https://ohip.example.com/",
            "OPERA_APP_KEY": "5f7e3b2a-9c41-4d6e-8a2b-1c3d5e7f9a0b",
            "OPERA_ENTERPRISE_ID": "ENT01",
            "OPERA_CASHIER_ID": "4",
            "OPERA_API_VERSION": "v1",
        },
    )
    assert result.returncode == 0, result.stderr
    out = result.stdout
    assert secret not in out and "5f7e3b2a-9c41" not in out
    assert "OPERA_CLIENT_SECRET=********" in out and "OPERA_APP_KEY=********" in out
    assert "OPERA_CLIENT_ID=my-client" in out and "OPERA_ENTERPRISE_ID=ENT01" in out and "OPERA_CASHIER_ID=4" in out
    # The version sits inside module paths and is never appended to the base URL.
    assert "OPERA_BASE_URL=https://ohip.example.com\n" in out
    assert "OPERA_TOKEN_URL=https://ohip.example.com/oauth/v1/tokens (derived from OPERA_BASE_URL)\n" in out
    assert "(mode)=ohip" in out


def test_a_password_grant_needs_no_enterprise_id() -> None:
    result = run_cli("check-config", env={
        "OPERA_CLIENT_ID": "c", "OPERA_CLIENT_SECRET": "s", "OPERA_BASE_URL": "https://ohip.example.com",
        "OPERA_APP_KEY": "5f7e3b2a-9c41-4d6e-8a2b-1c3d5e7f9a0b", "OPERA_GRANT_TYPE": "password",
        "OPERA_USERNAME": "integration", "OPERA_PASSWORD": "pw", "OPERA_CASHIER_ID": "4",
    })
    assert result.returncode == 0, result.stderr


def test_without_credentials_the_mode_is_sandbox() -> None:
    result = run_cli("check-config")
    assert result.returncode == 0
    assert "(mode)=sandbox" in result.stdout
    assert "OPERA_CASHIER_ID=113 (default: the embedded sandbox's app cashier)\n" in result.stdout
    assert "OPERA_BASE_URL=http://127.0.0.1:8000/sandbox (derived: the embedded sandbox" in result.stdout


@pytest.mark.parametrize("env", [
    {"OPERA_READ_ONLY": "true"},
    {"OPERA_TOOLSETS": "reservations,guests,housekeeping,system"},
])
def test_no_cashier_is_needed_when_no_tool_posts_money(env: dict[str, str]) -> None:
    result = run_cli("check-config", env={
        "OPERA_CLIENT_ID": "c", "OPERA_CLIENT_SECRET": "s", "OPERA_BASE_URL": "https://ohip.example.com",
        "OPERA_APP_KEY": "5f7e3b2a-9c41-4d6e-8a2b-1c3d5e7f9a0b", "OPERA_ENTERPRISE_ID": "ENT01", **env,
    })
    assert result.returncode == 0, result.stderr
    assert "OPERA_CASHIER_ID= (unset: no tool that posts money is offered)\n" in result.stdout


def test_check_config_shows_derived_defaults_as_such_and_every_secret_masked() -> None:
    result = run_cli("check-config", env={"OPERA_MCP_AUTH": "api_key", "OPERA_MCP_API_KEYS": KEY_LINE,
                                          "OPERA_METRICS_TOKEN": "metrics-token-9876",
                                          "OPERA_ALLOWED_HOSTS": "mcp.hotel.example"})
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert "OPERA_ALLOWED_ORIGINS=http://127.0.0.1:*,http://localhost:*,http://[::1]:* (default: loopback)" in lines
    assert "OPERA_ALLOWED_HOSTS=mcp.hotel.example,127.0.0.1:*,localhost:*,[::1]:* (loopback added)" in lines
    assert "OPERA_SCOPE=urn:opc:hgbu:ws:__myscopes__ (derived: every scope granted to the OHIP application)" in lines
    assert ("OPERA_GRACEFUL_SHUTDOWN_TIMEOUT=45.0 (derived: OPERA_LIMITER_MAX_WAIT + OPERA_REQUEST_TIMEOUT + 5 s)"
            in lines)
    assert "OPERA_BUSINESS_EVENTS_HOTELS=SAND01 (default: OPERA_DEFAULT_HOTEL_ID)" in lines
    assert "OPERA_MCP_API_KEYS=********" in lines and "OPERA_METRICS_TOKEN=********" in lines
    assert "f1e5e5dbb9dd" not in result.stdout and "metrics-token-9876" not in result.stdout
    assert "OPERA_USERNAME= (unset)" in lines and "None" not in result.stdout
    default = run_cli("check-config").stdout.splitlines()
    assert "OPERA_ALLOWED_HOSTS=127.0.0.1:*,localhost:*,[::1]:* (default: loopback)" in default


def _listening_socket() -> socket.socket:
    busy = socket.socket()
    busy.bind(("127.0.0.1", 0))
    busy.listen()
    return busy


@pytest.mark.parametrize("command", [[], ["serve"], ["sandbox"]])
def test_a_busy_port_is_one_line_on_stderr_and_exit_2_before_any_banner(command: list[str]) -> None:
    with _listening_socket() as busy:
        port = busy.getsockname()[1]
        result = run_cli(*command, "--port", str(port))
    assert result.returncode == 2, result
    assert result.stdout == ""
    assert result.stderr.splitlines() == [
        f"cannot listen on 127.0.0.1:{port}: the port is in use (another opera-cloud-mcp?); stop that process or "
        "choose another port with --port / OPERA_PORT"]


@pytest.mark.parametrize(("host", "problem"), [
    ("192.0.2.1", "192.0.2.1 is not an address of this machine"),
    ("no-such-host.invalid", "'no-such-host.invalid' is not an address or name this machine resolves"),
])
def test_a_bind_address_that_is_not_this_machine_is_one_line_and_exit_2(host: str, problem: str) -> None:
    result = run_cli("--host", host, env={"OPERA_ALLOW_UNAUTHENTICATED": "true"})
    assert result.returncode == 2, result
    assert result.stdout == ""
    (line,) = result.stderr.splitlines()
    assert line.startswith(f"cannot listen on {host}:8000: {problem}") and "OPERA_HOST" in line


def banner_of(env: dict[str, str]) -> str:
    """Start the server on a free port, read its banner (stderr up to the end of the client entry), stop it."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    proc = subprocess.Popen([sys.executable, "-m", "app", "--port", str(port)], env={**CLEAN_ENV, **env},
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    lines: list[str] = []
    try:
        assert proc.stderr is not None
        for line in proc.stderr:
            lines.append(line)
            if line == "}\n":
                break
    finally:
        proc.send_signal(signal.SIGINT)  # Ctrl-C right after the banner: a clean stop, whatever start-up was doing
        rest = proc.communicate(timeout=30)[1]
    assert proc.returncode == 0 and "Traceback" not in rest, (proc.returncode, rest)
    return "".join(lines)


@pytest.mark.parametrize(("env", "header"), [
    ({}, None),
    ({"OPERA_MCP_AUTH": "api_key",
      "OPERA_MCP_API_KEYS": KEY_LINE}, "Bearer <your key>"),
])
def test_the_banner_snippet_carries_the_auth_header_when_one_is_required(env: dict[str, str],
                                                                         header: str | None) -> None:
    banner = banner_of(env)
    assert "Claude Code" in banner and "Cursor" in banner and "VS Code" in banner and "stdio" in banner
    entry = json.loads(banner[banner.index("{"):])["mcpServers"]["opera-cloud"]
    assert entry["type"] == "http" and entry["url"].endswith("/mcp")
    assert entry.get("headers") == ({"Authorization": header} if header else None)
    assert "f1e5e5dbb9dd" not in banner
