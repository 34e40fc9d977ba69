"""Every PromQL expression in the alert rules and dashboards parses, and reads only metrics a running server
really exposes (a renamed metric would otherwise leave a silent alert or an empty panel)."""

from __future__ import annotations

import subprocess
from pathlib import Path

import httpx2
import pytest
import yaml

from tests.contract.plugin import SandboxServer
from tests.deploy.promql import (
    DASHBOARDS,
    SCRAPE_SERIES,
    as_promql,
    dashboard_expressions,
    exposed_names,
    metric_names,
    rule_expressions,
)
from tests.support.mcp_client import call_error, call_ok, mcp_client
from tests.support.servers import ServerThread


def test_metric_names_are_the_selectors_not_functions_labels_or_durations() -> None:
    expr = (
        'histogram_quantile(0.95, sum by (job, le) (rate(a_seconds_bucket{job="x", tool=~"b|c"}[5m] offset 1d)))'
        ' > 1.5 * on (job) group_left (instance) b_total - ignoring(le) c:recorded:rate5m'
        ' and label_replace(d_info, "x", "$1", "y", "(.*)") or vector(1e3) unless absent(up) > bool inf'
    )
    assert metric_names(expr) == {"a_seconds_bucket", "b_total", "c:recorded:rate5m", "d_info", "up"}


def test_grafana_variables_become_plain_promql() -> None:
    expr = 'sum(rate(x_total{namespace=~"$namespace", job="${job}"}[$__rate_interval]))'
    assert as_promql(expr) == 'sum(rate(x_total{namespace=~"x", job="x"}[5m]))'


def test_the_shipped_dashboards_and_rules_are_found() -> None:
    assert [p.name for p in DASHBOARDS] == ["opera-cloud-mcp.json"]
    assert len(rule_expressions()) == 8
    assert len(dashboard_expressions()) >= 30


def _check_with_promtool(
    promtool: str, expressions: dict[str, str], tmp_path: Path
) -> subprocess.CompletedProcess[str]:
    rules = [{"alert": f"Expression{i}", "expr": expr} for i, expr in enumerate(expressions.values())]
    path = tmp_path / "expressions.yml"
    path.write_text(yaml.safe_dump({"groups": [{"name": "shipped", "rules": rules}]}, sort_keys=False))
    return subprocess.run([promtool, "check", "rules", str(path)], capture_output=True, text=True, check=False)


def test_every_expression_parses_with_promtool(promtool: str, tmp_path: Path) -> None:
    expressions = {**rule_expressions(), **dashboard_expressions()}
    result = _check_with_promtool(promtool, expressions, tmp_path)
    assert result.returncode == 0, result.stdout + result.stderr
    assert f"SUCCESS: {len(expressions)} rules found" in result.stdout

    # The same check rejects what a typo in a panel would look like.
    broken = _check_with_promtool(promtool, {"typo": "sum(rate(opera_mcp_tool_calls_total[5m])"}, tmp_path)
    assert broken.returncode != 0


async def test_every_metric_used_by_rules_and_dashboards_is_exposed(
    ready_server: ServerThread, sandbox_server: SandboxServer
) -> None:
    async with mcp_client(ready_server.url) as client:
        await call_ok(client, "search_reservations", {"surname": "Smith"})
        await call_ok(client, "list_rate_plans")
        await call_error(client, "get_reservation", {"reservation_id": "999999999"})
    async with httpx2.AsyncClient() as http:
        exposition = (await http.get(f"{ready_server.url}/metrics")).text
    exposed = exposed_names(exposition) | SCRAPE_SERIES

    missing = {
        where: sorted(metric_names(expr) - exposed)
        for where, expr in {**rule_expressions(), **dashboard_expressions()}.items()
        if metric_names(expr) - exposed
    }
    assert not missing, f"expressions reading metrics the server does not expose: {missing}"


@pytest.mark.parametrize(
    ("topic", "metric"),
    [
        ("tool-call rate and errors", "opera_mcp_tool_calls_total"),
        ("tool latency percentiles", "opera_mcp_tool_duration_seconds_bucket"),
        ("OHIP calls by operation and status", "opera_ohip_requests_total"),
        ("OHIP latency", "opera_ohip_request_duration_seconds_bucket"),
        ("OHIP retries", "opera_ohip_retries_total"),
        ("OHIP 429s", "opera_ohip_rate_limited_responses_total"),
        ("token refreshes", "opera_ohip_token_requests_total"),
        ("inbound auth failures", "opera_mcp_auth_failures_total"),
        ("cache hit rate", "opera_cache_hits_total"),
        ("limiter waits", "opera_ohip_limiter_waits_total"),
        ("breaker state", "opera_ohip_circuit_breaker_state"),
        ("pool connections", "opera_ohip_pool_connections"),
        ("memory", "process_resident_memory_bytes"),
        ("CPU", "process_cpu_seconds_total"),
        ("inbound HTTP", "opera_http_requests_total"),
    ],
)
def test_the_dashboard_shows(topic: str, metric: str) -> None:
    panels = [where for where, expr in dashboard_expressions().items() if metric in metric_names(expr)]
    assert panels, f"no dashboard panel shows {topic} ({metric})"
