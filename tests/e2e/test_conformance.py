"""The official MCP conformance suite (@modelcontextprotocol/conformance, pinned in tests/support/node_tools.py, run
with the pinned Node 22) against our server in both protocol eras: exactly the scenarios each revision requires
(`--requirements 2025-11-25`, `--requirements 2026-07-28`), with the committed baselines
tests/conformance-baseline-<revision>.yml (each entry explained). The server is the real one, security middleware
and real tools included, plus the test-only fixtures the scenarios call (tests/support/conformance_fixtures.py);
production never offers those fixtures, which the last test checks."""

from __future__ import annotations

import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml

from app.server import create_app
from tests.support.apps import embedded_settings
from tests.support.conformance_fixtures import register_conformance_fixtures
from tests.support.mcp_client import Mode, mcp_client
from tests.support.node_tools import CONFORMANCE, ROOT, NodeToolsMissing, conformance_command, node_env
from tests.support.servers import ServerThread, serve

REVISIONS = ("2025-11-25", "2026-07-28")
FIXTURE_TOOLS = {"test_simple_text", "test_image_content", "test_error_handling", "test_sampling",
                 "test_input_required_result_elicitation", "test_missing_capability", "json_schema_2020_12_tool",
                 "test_custom_headers"}
FIXTURE_PROMPTS = {"test_simple_prompt", "test_prompt_with_arguments", "test_input_required_result_prompt"}


@pytest.fixture(scope="module")
def conformance_cli() -> list[str]:
    """The pinned suite, installed into .ci/.cache by this session when missing."""
    try:
        return conformance_command()
    except NodeToolsMissing as exc:
        pytest.fail(str(exc), pytrace=False)


@pytest.fixture(scope="module")
def fixture_server() -> Iterator[ServerThread]:
    """Our app in sandbox mode with the conformance fixtures registered beside the real tools."""
    settings, port = embedded_settings()
    with serve(create_app(settings, extra_registrations=[register_conformance_fixtures]), port=port) as srv:
        yield srv


def required_server_scenarios(revision: str) -> list[str]:
    """The server scenarios the revision requires, from the suite's own frozen requirements file."""
    document = yaml.safe_load((CONFORMANCE.directory / "node_modules" / CONFORMANCE.name / "requirements" /
                               f"{revision}.yaml").read_text())
    return [str(name) for name in document["server"]]


@pytest.mark.parametrize("revision", REVISIONS)
# test_tool_with_logging uses protocol logging on purpose (its scenario is handshake-era only).
@pytest.mark.filterwarnings("ignore:The logging capability is deprecated")
def test_conformance_suite_passes_with_the_committed_baseline(
    conformance_cli: list[str], fixture_server: ServerThread, tmp_path: Path, revision: str
) -> None:
    baseline = ROOT / "tests" / f"conformance-baseline-{revision}.yml"
    results = tmp_path / "results"
    done = subprocess.run(
        [*conformance_cli, "server", "--url", f"{fixture_server.url}/mcp", "--requirements", revision,
         "--expected-failures", str(baseline), "-o", str(results)],
        cwd=tmp_path, env=node_env(tmp_path), capture_output=True, text=True, timeout=240, check=False,
    )
    summary = done.stdout[done.stdout.find("=== SUMMARY ==="):]
    print(f"MCP conformance {revision}:\n{summary}")
    assert done.returncode == 0, f"{summary}\n{done.stderr[-3000:]}"
    assert "Baseline check passed" in done.stdout
    # Every scenario the revision requires ran and left its checks (the suite cannot pass by running nothing).
    ran = {path.parent.name for path in results.glob("server-*/checks.json")}
    missing = [name for name in required_server_scenarios(revision)
               if not any(folder.startswith(f"server-{name}-") for folder in ran)]
    assert not missing, f"scenarios that left no results: {missing}"
    assert "✓ tools-list:" in summary


@pytest.mark.parametrize("mode", ["legacy", "auto"])
async def test_production_offers_none_of_the_fixtures(server: ServerThread, mode: Mode) -> None:
    async with mcp_client(server.url, mode=mode) as client:
        tools = {tool.name for tool in (await client.list_tools()).tools}
        prompts = {prompt.name for prompt in (await client.list_prompts()).prompts}
        resources = [str(r.uri) for r in (await client.list_resources()).resources]
        templates = [t.uri_template for t in (await client.list_resource_templates()).resource_templates]
        capabilities = client.server_capabilities
    assert "search_reservations" in tools
    assert not tools & FIXTURE_TOOLS
    assert not prompts & FIXTURE_PROMPTS
    assert not [uri for uri in [*resources, *templates] if uri.startswith("test://")]
    assert capabilities is not None
    assert capabilities.completions is None and capabilities.logging is None
    # No list changes while the server runs, so none is promised.
    assert capabilities.tools is not None and not capabilities.tools.list_changed
