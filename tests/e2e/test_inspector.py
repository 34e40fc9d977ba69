"""A third-party client, the MCP Inspector CLI (TypeScript SDK, pinned by .ci/inspector.sh), lists the tools with
--strict clean and calls search_reservations and check_availability in both protocol eras."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest

from tests.support.apps import embedded_settings, running_app

ROOT = Path(__file__).resolve().parents[2]
INSPECTOR = ROOT / ".ci" / ".cache" / "inspector" / "node_modules" / ".bin" / "mcp-inspector"


def inspector(tmp_path: Path, url: str, *args: str) -> subprocess.CompletedProcess[str]:
    assert INSPECTOR.exists(), "MCP Inspector missing: run `bash .ci/inspector.sh install` (.ci/run does)"
    env = {
        "HOME": str(tmp_path),
        "MCP_CATALOG_PATH": str(tmp_path / "mcp.json"),
        "PATH": "/usr/bin:/bin",
        "NO_COLOR": "1",
    }
    return subprocess.run(
        [str(INSPECTOR), "--cli", url, *args, "--format", "json", "-q"],
        env=env,
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
def test_inspector_lists_tools_with_strict_schemas(tmp_path: Path, server_url: str, era: str) -> None:
    result = inspector(tmp_path, server_url, "--protocol-era", era, "--method", "tools/list", "--strict")
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
    tmp_path: Path, server_url: str, era: str, tool: str, args: dict[str, object], expect: str
) -> None:
    result = inspector(
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
