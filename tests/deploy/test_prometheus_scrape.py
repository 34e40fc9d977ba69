"""A real Prometheus, run with the shipped prometheus.yml and alert rules, scrapes a real server: the series it
stores count exactly the tool calls made and the OHIP requests the sandbox received."""

from __future__ import annotations

import shutil
import subprocess
import time
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx2
import yaml

from tests.contract.plugin import SandboxServer
from tests.deploy.promql import REPO
from tests.support.mcp_client import call_error, call_ok, mcp_client
from tests.support.servers import ServerThread, free_port

SURNAMES = ("Smith", "Jones", "Garcia", "Muller", "Rossi")


def config_for_test(app_port: int, prometheus_port: int, workdir: Path) -> Path:
    """The shipped prometheus.yml and rules, copied into workdir, with targets on loopback and a 1 s scrape."""
    config = yaml.safe_load((REPO / "prometheus.yml").read_text())
    jobs = {job["job_name"]: job for job in config["scrape_configs"]}
    assert set(jobs) == {"opera-cloud-mcp", "prometheus"}, "a new scrape job needs a loopback target here too"
    jobs["opera-cloud-mcp"]["static_configs"] = [{"targets": [f"127.0.0.1:{app_port}"]}]
    jobs["prometheus"]["static_configs"] = [{"targets": [f"127.0.0.1:{prometheus_port}"]}]
    config["global"].update({"scrape_interval": "1s", "scrape_timeout": "1s", "evaluation_interval": "1s"})
    for rule_file in config["rule_files"]:
        target = workdir / rule_file
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy(REPO / rule_file, target)
    path = workdir / "prometheus.yml"
    path.write_text(yaml.safe_dump(config, sort_keys=False))
    return path


@contextmanager
def running_prometheus(binary: str, config: Path, port: int, workdir: Path) -> Iterator[str]:
    log = (workdir / "prometheus.log").open("w")
    process = subprocess.Popen(
        [binary, f"--config.file={config}", f"--storage.tsdb.path={workdir / 'data'}",
         f"--web.listen-address=127.0.0.1:{port}", "--log.level=warn"],
        stdout=log, stderr=subprocess.STDOUT,
    )
    base_url = f"http://127.0.0.1:{port}"
    try:
        # Prometheus answers 503 to queries until its storage is open; /-/ready says when.
        def ready() -> bool:
            if process.poll() is not None:
                raise RuntimeError(f"prometheus exited: {(workdir / 'prometheus.log').read_text()[-2000:]}")
            return httpx2.get(f"{base_url}/-/ready", timeout=5).is_success

        wait_for("/-/ready", ready)
        yield base_url
    finally:
        process.terminate()
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=10)
        log.close()


def wait_for(description: str, probe: Any, timeout: float = 60.0) -> Any:
    deadline = time.monotonic() + timeout
    while True:
        try:
            value = probe()
        except httpx2.HTTPError:
            value = None
        if value:
            return value
        if time.monotonic() > deadline:
            raise TimeoutError(f"Prometheus never showed {description} within {timeout} s")
        time.sleep(0.25)


def query(base_url: str, promql: str) -> list[dict[str, Any]]:
    body = httpx2.get(f"{base_url}/api/v1/query", params={"query": promql}, timeout=5).json()
    assert body["status"] == "success", body
    return list(body["data"]["result"])


def by_label(results: list[dict[str, Any]], *labels: str) -> dict[tuple[str, ...], float]:
    return {tuple(r["metric"].get(label, "") for label in labels): float(r["value"][1]) for r in results}


async def test_prometheus_scrapes_the_calls_made(
    prometheus_binary: str, ready_server: ServerThread, sandbox_server: SandboxServer, tmp_path: Path
) -> None:
    async with mcp_client(ready_server.url) as client:
        for surname in SURNAMES:
            await call_ok(client, "search_reservations", {"surname": surname})
        await call_error(client, "get_reservation", {"reservation_id": "999999999"})
    sent = Counter(e.operation_id for e in sandbox_server.sandbox.requests
                   if e.operation_id and not e.path.startswith("/oauth"))
    assert sent["getHotelReservations"] >= len(SURNAMES)

    port = free_port()
    config = config_for_test(ready_server.port, port, tmp_path)
    with running_prometheus(prometheus_binary, config, port, tmp_path) as prometheus:
        wait_for("a successful scrape of opera-cloud-mcp",
                 lambda: by_label(query(prometheus, 'up{job="opera-cloud-mcp"}')).get(()) == 1.0)

        tools = by_label(query(prometheus, 'opera_mcp_tool_calls_total{job="opera-cloud-mcp"}'), "tool", "outcome")
        assert tools == {("search_reservations", "ok"): len(SURNAMES), ("get_reservation", "error"): 1}

        ohip = by_label(query(prometheus, "sum by (operation) (opera_ohip_requests_total)"), "operation")
        assert ohip == {(operation,): count for operation, count in sent.items()}
        statuses = by_label(query(prometheus, "sum by (status_class) (opera_ohip_requests_total)"), "status_class")
        assert statuses.get(("4xx",)) == 1  # the unknown reservation

        # The shipped alert rules loaded and evaluate without error against real series.
        def evaluated_rules() -> list[dict[str, Any]] | None:
            groups = httpx2.get(f"{prometheus}/api/v1/rules", timeout=5).json()["data"]["groups"]
            rules = [rule for group in groups for rule in group["rules"]]
            return rules if rules and all(rule["health"] == "ok" for rule in rules) else None

        rules = wait_for("every alert rule evaluated", evaluated_rules)
        assert sorted(rule["name"] for rule in rules) == sorted([
            "ServiceDown", "AuthFailures", "HighErrorRate", "LatencySLOBreach", "HighMemory", "HighCacheMissRate",
            "FrequentRateLimiting", "SlowResponsesTrending",
        ])
        firing = [rule["name"] for rule in rules if rule["state"] == "firing"]
        assert firing == [], f"a healthy server must not fire alerts: {firing}"
