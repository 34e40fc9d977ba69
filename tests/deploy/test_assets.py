"""The shipped deploy assets work as shipped: health checks answer against a real server, the settings in the
compose env files and the Kubernetes overlays load and pass the start-up checks, manifests agree with each other
and with the server, alerts have runbooks, and no asset carries a secret."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from app.config import SANDBOX_APP_KEY, SANDBOX_CLIENT_ID, SANDBOX_CLIENT_SECRET, ConfigError, Settings, load_settings
from app.security.api_keys import new_api_key
from app.security.layer import startup_refusal
from app.telemetry.metrics import Metrics
from tests.contract.plugin import SandboxServer
from tests.deploy.conftest import OVERLAYS
from tests.deploy.promql import ALERTS, REPO, exposed_names
from tests.support.apps import running_app, settings_for_sandbox, wait_ready
from tests.support.servers import ServerThread, free_port

COMPOSE = yaml.safe_load((REPO / "docker-compose.yml").read_text())
OPERATIONS = (REPO / "docs" / "operations.md").read_text()
#: The MCP server's replicas in the compose stack (the load balancer spreads calls over them).
REPLICAS = ("mcp-1", "mcp-2")


# --- health checks ----------------------------------------------------------------------------------------------
def image_healthcheck() -> list[str]:
    text = (REPO / "Dockerfile").read_text().replace("\\\n", " ")
    match = re.search(r"^HEALTHCHECK\b.*?\bCMD\s+(\[.*\])\s*$", text, re.MULTILINE)
    assert match, "the Dockerfile has no JSON-form HEALTHCHECK"
    return list(json.loads(match.group(1)))


def compose_healthcheck(service: str) -> list[str]:
    test = COMPOSE["services"][service]["healthcheck"]["test"]
    assert test[0] == "CMD", "exec form, so no shell is needed in the image"
    return list(test[1:])


def run_check(command: list[str], port: int) -> int:
    """Run a container health check here, with the image's python and OPERA_PORT pointing at `port`."""
    argv = [sys.executable if command[0] == "python" else command[0], *command[1:]]
    env = {"OPERA_PORT": str(port), "PATH": "/usr/bin:/bin"}
    return subprocess.run(argv, env=env, capture_output=True, timeout=30, check=False).returncode


def test_image_healthcheck_passes_on_a_live_server_and_fails_without_one(ready_server: ServerThread) -> None:
    command = image_healthcheck()
    assert run_check(command, ready_server.port) == 0
    assert run_check(command, free_port()) != 0


def test_compose_healthcheck_follows_readiness_not_just_liveness(sandbox_server: SandboxServer) -> None:
    image, compose = image_healthcheck(), compose_healthcheck("mcp-1")
    with running_app(settings_for_sandbox(sandbox_server.url, client_secret="not-the-sandbox-secret")) as srv:
        # Alive, but OHIP refuses every token request: /ready stays 503.
        assert run_check(image, srv.port) == 0
        assert run_check(compose, srv.port) != 0
    with running_app(settings_for_sandbox(sandbox_server.url)) as srv:
        wait_ready(srv.url)
        assert run_check(compose, srv.port) == 0


# --- configurations load and start --------------------------------------------------------------------------------
def env_file(path: Path) -> dict[str, str]:
    pairs = {}
    for line in path.read_text().splitlines():
        if line.strip() and not line.lstrip().startswith("#"):
            name, _, value = line.partition("=")
            pairs[name.strip()] = value.strip()
    return pairs


def settings_from(env: dict[str, str], monkeypatch: pytest.MonkeyPatch) -> Settings:
    """Settings exactly as the server would read them from this environment (nothing else set)."""
    for name in list(os.environ):
        if name.startswith(("OPERA_", "OTEL_")):
            monkeypatch.delenv(name)
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    return load_settings()


def with_real_key(env: dict[str, str]) -> dict[str, str]:
    """The placeholders of an OHIP example, filled the way an operator would."""
    filled = {name: ("example-value" if value == "REPLACE_ME" else value) for name, value in env.items()}
    if env.get("OPERA_CASHIER_ID") == "REPLACE_ME":
        filled["OPERA_CASHIER_ID"] = "4"  # the property's cashier for this interface, a number
    filled["OPERA_MCP_API_KEYS"] = new_api_key("frontdesk-bot", "opera:read,opera:write", "*").line
    filled["OPERA_DEFAULT_HOTEL_ID"] = "HOTEL1"
    filled["OPERA_BASE_URL"] = "https://ohip.example.com"
    filled["OPERA_ALLOWED_HOSTS"] = "opera-mcp.example.com:*"
    return filled


def compose_server_env(env_file_path: str | None = None, replica: str = REPLICAS[0]) -> dict[str, str]:
    """A replica's environment: its env file (the default one unless given), then `environment:`, which compose
    lets win."""
    service = COMPOSE["services"][replica]
    default = re.sub(r"\$\{OPERA_ENV_FILE:-(.*)\}", r"\1", service["env_file"][0])
    return {**env_file(REPO / (env_file_path or default)), **{k: str(v) for k, v in service["environment"].items()}}


def test_compose_replicas_treat_the_one_standalone_sandbox_as_ohip(monkeypatch: pytest.MonkeyPatch) -> None:
    """Each replica embedding its own sandbox would be its own hotel world; both call the `sandbox` service."""
    sandbox = COMPOSE["services"]["sandbox"]
    assert sandbox["image"] == COMPOSE["services"][REPLICAS[0]]["image"]
    assert sandbox["command"][:2] == ["opera-cloud-mcp", "sandbox"]
    sandbox_port = sandbox["command"][sandbox["command"].index("--port") + 1]
    for replica in REPLICAS:
        settings = settings_from(compose_server_env(replica=replica), monkeypatch)
        assert settings.mode == "ohip" and settings.host == "0.0.0.0" and settings.port == 8000
        assert settings.effective_base_url == f"http://sandbox:{sandbox_port}"
        assert settings.effective_token_url == f"http://sandbox:{sandbox_port}/oauth/v1/tokens"
        assert (settings.effective_client_id, settings.effective_client_secret.get_secret_value(),
                settings.effective_app_key.get_secret_value()) == (SANDBOX_CLIENT_ID, SANDBOX_CLIENT_SECRET,
                                                                   SANDBOX_APP_KEY)
        assert startup_refusal(settings) is None
        assert settings.otel_exporter_otlp_endpoint == "http://otel-collector:4318"


def test_compose_sandbox_env_file_is_accepted_by_a_standalone_sandbox(
    sandbox_server: SandboxServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The credentials in deploy/compose/sandbox.env are the ones the standalone emulator issues tokens for."""
    env = {**compose_server_env(), "OPERA_BASE_URL": sandbox_server.url, "OPERA_HOST": "127.0.0.1"}
    env.pop("OPERA_REDIS_URL")  # no Redis here; the shared-state path is covered by the server's own tests
    env.pop("OTEL_EXPORTER_OTLP_ENDPOINT")
    with running_app(settings_from(env, monkeypatch)) as srv:
        wait_ready(srv.url)


def test_compose_ohip_example_needs_real_values_then_starts_in_ohip_mode(monkeypatch: pytest.MonkeyPatch) -> None:
    env = compose_server_env("deploy/compose/ohip.env.example")
    with pytest.raises(ConfigError, match="OPERA_CASHIER_ID"):  # the cashier's placeholder stops the server
        settings_from(env, monkeypatch)
    settings = settings_from({**env, "OPERA_CASHIER_ID": "4"}, monkeypatch)
    assert startup_refusal(settings) is not None, "placeholder API keys must stop the server"
    settings = settings_from(with_real_key(env), monkeypatch)
    assert settings.mode == "ohip" and settings.mcp_auth == "api_key"
    assert settings.enable_persistent_token_cache
    assert startup_refusal(settings) is None


def only(docs: list[dict[str, Any]], kind: str) -> dict[str, Any]:
    found = [d for d in docs if d["kind"] == kind]
    assert len(found) == 1, f"expected one {kind}, found {len(found)}"
    return found[0]


def kinds(docs: list[dict[str, Any]]) -> set[str]:
    return {d["kind"] for d in docs}


def test_kubernetes_sandbox_overlay_starts_in_sandbox_mode_as_a_single_pod(
    rendered: dict[str, list[dict[str, Any]]], monkeypatch: pytest.MonkeyPatch
) -> None:
    docs = rendered["sandbox"]
    settings = settings_from(only(docs, "ConfigMap")["data"], monkeypatch)
    assert settings.mode == "sandbox" and startup_refusal(settings) is None
    assert only(docs, "Deployment")["spec"]["replicas"] == 1
    assert not kinds(docs) & {"HorizontalPodAutoscaler", "PodDisruptionBudget"}


def test_kubernetes_production_overlay_requires_auth_and_its_secret(
    rendered: dict[str, list[dict[str, Any]]], monkeypatch: pytest.MonkeyPatch
) -> None:
    docs = rendered["production"]
    config = only(docs, "ConfigMap")["data"]
    settings = settings_from(config, monkeypatch)
    assert settings.mcp_auth in ("api_key", "oauth") and not settings.allow_unauthenticated
    assert startup_refusal(settings) is not None, "without its Secret the server must refuse to start"

    secret = yaml.safe_load((REPO / "deploy" / "overlays" / "production" / "secret.example.yaml").read_text())
    container = only(docs, "Deployment")["spec"]["template"]["spec"]["containers"][0]
    assert {"secretRef": {"name": secret["metadata"]["name"]}} in container["envFrom"]
    settings = settings_from(with_real_key({**config, **secret["stringData"]}), monkeypatch)
    assert settings.mode == "ohip" and startup_refusal(settings) is None
    assert kinds(docs) >= {"HorizontalPodAutoscaler", "PodDisruptionBudget"}

    monitor = only(docs, "ServiceMonitor")["spec"]["endpoints"][0]
    assert monitor["authorization"]["credentials"] == {"name": secret["metadata"]["name"], "key": "OPERA_METRICS_TOKEN"}
    assert "OPERA_METRICS_TOKEN" in secret["stringData"]


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_kubernetes_probes_and_ports_fit_the_server(
    overlay: str, rendered: dict[str, list[dict[str, Any]]], monkeypatch: pytest.MonkeyPatch
) -> None:
    docs = rendered[overlay]
    config = only(docs, "ConfigMap")["data"]
    settings = settings_from(config, monkeypatch)
    pod = only(docs, "Deployment")["spec"]["template"]["spec"]
    (container,) = pod["containers"]
    ports = {p["name"]: p["containerPort"] for p in container["ports"]}
    assert ports == {"http": settings.port}
    assert container["startupProbe"]["httpGet"] == {"path": "/live", "port": "http"}
    assert container["livenessProbe"]["httpGet"] == {"path": "/live", "port": "http"}
    assert container["readinessProbe"]["httpGet"] == {"path": "/ready", "port": "http"}
    # The drain arithmetic (terminationGracePeriodSeconds) is checked in test_scale_out.py.

    # The token cache directory and /tmp are writable despite the read-only root filesystem.
    mounts = {m["mountPath"]: m["name"] for m in container["volumeMounts"]}
    volumes = {v["name"]: v for v in pod["volumes"]}
    assert str(settings.token_cache_dir) in mounts and "/tmp" in mounts
    assert all("emptyDir" in volumes[name] for name in mounts.values())
    assert container["securityContext"]["readOnlyRootFilesystem"] is True
    assert container["securityContext"]["capabilities"]["drop"] == ["ALL"]
    assert pod["securityContext"]["runAsNonRoot"] is True
    assert pod["securityContext"]["seccompProfile"] == {"type": "RuntimeDefault"}
    assert pod["automountServiceAccountToken"] is False

    service = only(docs, "Service")
    labels = only(docs, "Deployment")["spec"]["template"]["metadata"]["labels"]
    assert service["spec"]["selector"].items() <= labels.items()
    assert {p["targetPort"] for p in service["spec"]["ports"]} == {"http"}
    monitor = only(docs, "ServiceMonitor")["spec"]
    assert monitor["selector"]["matchLabels"].items() <= service["metadata"]["labels"].items()
    assert monitor["endpoints"][0]["port"] in {p["name"] for p in service["spec"]["ports"]}
    # Same job label as the compose scrape config, which the rules and dashboards select on.
    assert service["metadata"]["name"] == "opera-cloud-mcp"


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_network_policy_lets_out_only_dns_ohip_and_redis(
    overlay: str, rendered: dict[str, list[dict[str, Any]]]
) -> None:
    policy = only(rendered[overlay], "NetworkPolicy")["spec"]
    assert set(policy["policyTypes"]) == {"Ingress", "Egress"}
    egress_ports = {(p["port"], p["protocol"]) for rule in policy["egress"] for p in rule["ports"]}
    assert egress_ports == {(53, "UDP"), (53, "TCP"), (443, "TCP"), (6379, "TCP")}
    ohip = next(rule for rule in policy["egress"] if any(p["port"] == 443 for p in rule["ports"]))
    assert "169.254.0.0/16" in ohip["to"][0]["ipBlock"]["except"], "cloud metadata must stay unreachable"


def test_the_prometheus_rule_for_kubernetes_is_the_compose_rules_file() -> None:
    rule = yaml.safe_load((REPO / "deploy" / "base" / "prometheusrule.yaml").read_text())
    assert rule["spec"] == yaml.safe_load(ALERTS.read_text())


# --- Prometheus, Grafana, collector wiring -----------------------------------------------------------------------
def bind_mounts(service: str) -> Iterator[tuple[Path, str]]:
    for volume in COMPOSE["services"][service].get("volumes", []):
        source, target = volume.split(":")[:2]
        if source.startswith("./"):
            yield REPO / source, target


def test_compose_mounts_exist_and_match_what_the_configs_expect() -> None:
    for service in COMPOSE["services"]:
        for source, _ in bind_mounts(service):
            assert source.exists(), f"{service} mounts {source}, which does not exist"
    prometheus = dict((target, source) for source, target in bind_mounts("prometheus"))
    config_dir = Path("/etc/prometheus")
    for rule_file in yaml.safe_load((REPO / "prometheus.yml").read_text())["rule_files"]:
        in_container = config_dir / rule_file
        mounted = next(src / in_container.relative_to(tgt) for tgt, src in prometheus.items()
                       if in_container.is_relative_to(tgt) and src.is_dir())
        assert mounted.resolve() == (REPO / rule_file).resolve()

    grafana = {target: source for source, target in bind_mounts("grafana")}
    provider = yaml.safe_load((REPO / "grafana" / "provisioning" / "dashboards" / "dashboards.yml").read_text())
    dashboards_dir = provider["providers"][0]["options"]["path"]
    assert grafana[dashboards_dir] == REPO / "grafana" / "dashboards"
    home = COMPOSE["services"]["grafana"]["environment"]["GF_DASHBOARDS_DEFAULT_HOME_DASHBOARD_PATH"]
    assert (REPO / "grafana" / "dashboards" / Path(home).relative_to(dashboards_dir)).exists()


def test_the_dashboard_uses_the_provisioned_prometheus() -> None:
    sources = yaml.safe_load((REPO / "grafana" / "provisioning" / "datasources" / "datasources.yml").read_text())
    prometheus_uids = {d["uid"] for d in sources["datasources"] if d["type"] == "prometheus"}
    dashboard = json.loads((REPO / "grafana" / "dashboards" / "opera-cloud-mcp.json").read_text())
    variables = {v["name"]: v for v in dashboard["templating"]["list"]}
    assert variables["datasource"]["type"] == "datasource" and variables["datasource"]["query"] == "prometheus"
    assert variables["datasource"]["current"]["value"] in prometheus_uids
    ids = [p["id"] for p in dashboard["panels"]]
    assert len(ids) == len(set(ids)), "panel ids must be unique"
    for panel in dashboard["panels"]:
        grid = panel["gridPos"]
        assert grid["x"] >= 0 and grid["x"] + grid["w"] <= 24, panel["title"]
        if panel["type"] != "row":
            assert panel["datasource"]["uid"] == "${datasource}", panel["title"]


def test_traces_flow_from_the_server_through_the_collector_to_jaeger() -> None:
    collector = yaml.safe_load((REPO / "otel-collector.yaml").read_text())
    pipeline = collector["service"]["pipelines"]["traces"]
    for section in ("receivers", "processors", "exporters"):
        assert set(pipeline[section]) <= set(collector[section]), section
    assert pipeline["processors"][0] == "memory_limiter", "refuse load before batching it"
    endpoint = COMPOSE["services"][REPLICAS[0]]["environment"]["OTEL_EXPORTER_OTLP_ENDPOINT"]
    host, port = endpoint.removeprefix("http://").split(":")
    assert host in COMPOSE["services"] and collector["receivers"]["otlp"]["protocols"]["http"]["endpoint"].endswith(
        f":{port}")
    jaeger_host = collector["exporters"][pipeline["exporters"][0]]["endpoint"].split(":")[0]
    assert jaeger_host in COMPOSE["services"]


# --- alerts and the operations guide --------------------------------------------------------------------------------
GUIDE_ALERTS = ("ServiceDown", "AuthFailures", "HighErrorRate", "LatencySLOBreach", "HighMemory", "HighCacheMissRate",
                "FrequentRateLimiting", "SlowResponsesTrending")


def anchors(markdown: str) -> set[str]:
    """GitHub's heading anchors: lower case, punctuation dropped, spaces to hyphens."""
    return {re.sub(r"[^\w\- ]", "", h.strip().lower()).replace(" ", "-")
            for h in re.findall(r"^#{1,6} (.+)$", markdown, re.MULTILINE)}


def test_every_alert_of_the_guide_has_severity_text_and_a_runbook_section() -> None:
    rules = {r["alert"]: r for g in yaml.safe_load(ALERTS.read_text())["groups"] for r in g["rules"]}
    assert set(rules) == set(GUIDE_ALERTS)
    sections = anchors(OPERATIONS)
    for name, rule in rules.items():
        assert rule["labels"]["severity"] in ("critical", "warning"), name
        assert rule["annotations"]["summary"] and rule["annotations"]["description"], name
        page, _, anchor = rule["annotations"]["runbook_url"].partition("#")
        assert page == "docs/operations.md" and anchor == name.lower() and anchor in sections, name


def test_the_operations_guide_documents_every_metric_the_server_exposes() -> None:
    from prometheus_client import generate_latest

    names = {n for n in exposed_names(generate_latest(Metrics().registry).decode())
             if not n.endswith(("_created", "_bucket", "_sum", "_count"))}
    undocumented = sorted(n for n in names if f"`{n}`" not in OPERATIONS)
    assert not undocumented, f"docs/operations.md's metrics reference lacks {undocumented}"


def test_the_operations_guide_covers_every_topic_of_the_deployment_guide() -> None:
    for heading in ("deploy-with-docker-compose", "deploy-on-kubernetes-with-kustomize", "configure-secrets",
                    "health-probes", "metrics-reference", "alert-runbooks", "logs", "the-token-cache-and-its-backup",
                    "scaling-out", "troubleshooting"):
        assert heading in anchors(OPERATIONS), heading
    for phrase in ("/live", "/ready", "/health", "Rotation", "kubectl apply -k", "docker-compose up"):
        assert phrase in OPERATIONS, phrase


# --- no secrets in what we ship ------------------------------------------------------------------------------------
SECRET_NAME = re.compile(r"(SECRET|PASSWORD|_TOKEN|_KEYS?|CLIENT_ID)$")
PLACEHOLDER = re.compile(r"^(|REPLACE_ME|\$\{[A-Z_]+(:-[^}]*)?\})$")
SHIPPED = ("Dockerfile", "docker-compose.yml", "prometheus.yml", "otel-collector.yaml", "deploy", "grafana",
           "prometheus")
#: The one file allowed to carry the emulator's public demo credentials (the compose replicas log in to the
#: standalone sandbox with them); they open nothing but the sandbox.
SANDBOX_ENV = REPO / "deploy" / "compose" / "sandbox.env"
PUBLIC_DEMO = {"OPERA_CLIENT_ID": SANDBOX_CLIENT_ID, "OPERA_CLIENT_SECRET": SANDBOX_CLIENT_SECRET,
               "OPERA_APP_KEY": SANDBOX_APP_KEY}
SECRET_EXAMPLES = (REPO / "deploy" / "overlays" / "production" / "secret.example.yaml",
                   REPO / "deploy" / "redis" / "secret.example.yaml")


def shipped_files() -> Iterator[Path]:
    for name in SHIPPED:
        path = REPO / name
        yield from (sorted(p for p in path.rglob("*") if p.is_file()) if path.is_dir() else [path])


def named_values(rendered: dict[str, list[dict[str, Any]]]) -> Iterator[tuple[str, str, str]]:
    """(where, variable, value) for every environment-style setting the assets carry."""
    for service, spec in COMPOSE["services"].items():
        for name, value in (spec.get("environment") or {}).items():
            yield f"compose {service}", name, str(value)
    for path in (REPO / "deploy" / "compose").glob("*.env*"):
        for name, value in env_file(path).items():
            yield path.name, name, value
    for overlay, docs in rendered.items():
        for doc in docs:
            for name, value in {**doc.get("data", {}), **doc.get("stringData", {})}.items():
                yield f"{overlay} {doc['kind']}", name, str(value)
    for path in SECRET_EXAMPLES:
        for name, value in yaml.safe_load(path.read_text())["stringData"].items():
            yield str(path.relative_to(REPO)), name, value
    for match in re.finditer(r"^ENV\s+(.*)$", (REPO / "Dockerfile").read_text().replace("\\\n", " "), re.MULTILINE):
        for name, value in re.findall(r"(\w+)=(\S*)", match.group(1)):
            yield "Dockerfile", name, value


def test_no_shipped_asset_carries_a_secret(rendered: dict[str, list[dict[str, Any]]]) -> None:
    values = list(named_values(rendered))
    assert any(name == "OPERA_CLIENT_SECRET" for _, name, _ in values), "the scan must see the credential slots"
    leaks = [(where, name) for where, name, value in values
             if SECRET_NAME.search(name.upper()) and not PLACEHOLDER.match(value)
             and not (where == SANDBOX_ENV.name and PUBLIC_DEMO.get(name) == value)]
    assert not leaks, f"secret-like settings with real-looking values: {leaks}"
    # A URL may carry a password too (OPERA_REDIS_URL, the Secret's redis-url): only placeholders, or none.
    passwords = [(where, name) for where, name, value in values
                 if (m := re.match(r"^\w+://[^/@:]*:([^/@]*)@", value)) and not PLACEHOLDER.match(m.group(1))]
    assert not passwords, f"URLs with real-looking passwords: {passwords}"

    credential = re.compile(r"-----BEGIN [A-Z ]*PRIVATE KEY|eyJ[A-Za-z0-9_-]{20,}\.|\b[0-9a-f]{64}\b|omcp_[A-Za-z0-9]")
    for path in shipped_files():
        text = path.read_text(errors="replace")
        assert not credential.search(text), f"{path.relative_to(REPO)} holds something shaped like a credential"
        if path != SANDBOX_ENV:
            assert SANDBOX_APP_KEY not in text and SANDBOX_CLIENT_SECRET not in text, path
