"""A third-party client, the MCP Inspector CLI (TypeScript SDK, pinned in tests/support/node_tools.py and run with
the pinned Node 22 the test session installs), lists the tools with --strict clean and calls search_reservations and
check_availability in both protocol eras."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest

from tests.support.apps import embedded_settings, running_app
from tests.support.node_tools import NodeToolsMissing, inspector_command, node_env


@pytest.fixture(scope="session")
def inspector_cli() -> list[str]:
    """The pinned Inspector, installed into .ci/.cache by this session when missing."""
    try:
        return inspector_command()
    except NodeToolsMissing as exc:
        pytest.fail(str(exc), pytrace=False)


def inspector(cli: list[str], tmp_path: Path, url: str, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [*cli, "--cli", url, *args, "--format", "json", "-q"],
        env=node_env(tmp_path),
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


@pytest.fixture(scope="module")
def server_url() -> object:
    settings, port = embedded_settings()
    with running_app(settings, port) as srv:
        yield f"{srv.url}/mcp"


@pytest.mark.parametrize("era", ["legacy", "modern"])
def test_inspector_lists_tools_with_strict_schemas(
    inspector_cli: list[str], tmp_path: Path, server_url: str, era: str
) -> None:
    result = inspector(inspector_cli, tmp_path, server_url, "--protocol-era", era, "--method", "tools/list", "--strict")
    assert result.returncode == 0, result.stdout[-2000:] + result.stderr[-2000:]
    names = {t["name"] for t in json.loads(result.stdout)["result"]["tools"]}
    assert {"search_reservations", "check_availability", "check_in", "post_charge"} <= names


@pytest.mark.parametrize("era", ["legacy", "modern"])
@pytest.mark.parametrize(
    ("tool", "args", "expect"),
    [
        ("search_reservations", {"surname": "Smith"}, "reservations"),
        ("check_availability", {"arrival": "2026-05-01", "departure": "2026-05-03", "adults": 2}, "offers"),
    ],
)
def test_inspector_calls_tools(
    inspector_cli: list[str], tmp_path: Path, server_url: str, era: str, tool: str, args: dict[str, object],
    expect: str,
) -> None:
    result = inspector(
        inspector_cli,
        tmp_path,
        server_url,
        "--protocol-era",
        era,
        "--method",
        "tools/call",
        "--tool-name",
        tool,
        "--tool-args-json",
        json.dumps(args),
    )
    assert result.returncode == 0, result.stdout[-2000:] + result.stderr[-2000:]
    body = json.loads(result.stdout)["result"]
    assert body.get("isError") is not True, body
    assert expect in json.dumps(body.get("structuredContent", body))
