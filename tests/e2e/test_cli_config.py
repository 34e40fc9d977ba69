"""The console command: bad configuration stops start-up with exit 2 and one line; check-config masks secrets."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

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
    assert "(token url used)=https://ohip.example.com/oauth/v1/tokens" in out
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
    assert "(cashier used)=113" in result.stdout
    assert "(base url used)=http://127.0.0.1:8000/sandbox" in result.stdout


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
    assert "OPERA_CASHIER_ID=None" in result.stdout
