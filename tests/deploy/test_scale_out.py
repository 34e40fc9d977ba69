"""Several replicas are one service: the drain arithmetic of Kubernetes and compose agrees with the server's rule,
the compose load balancer spreads calls over ready replicas only (a real HAProxy with the shipped configuration),
Prometheus scrapes each replica, the production pods get Redis from the Secret, and Redis, as shipped, keeps
idempotency records (sized, never evicting, persisted)."""

from __future__ import annotations

import re
import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import httpx2
import pytest
import yaml

from app.config import Settings
from tests.contract.plugin import SandboxServer
from tests.deploy.conftest import OVERLAYS, REPO, binary
from tests.deploy.test_assets import COMPOSE, REPLICAS, compose_server_env, only, settings_from, with_real_key
from tests.support.apps import running_app, settings_for_sandbox, wait_ready
from tests.support.mcp_client import call_ok, mcp_client
from tests.support.servers import ServerThread, free_port

#: Time the process needs after the drain: the lifespan shutdown (OHIP pool, Redis, span flush) and exit.
MARGIN_S = 5.0
HAPROXY_CFG = REPO / "deploy" / "compose" / "haproxy.cfg"
ENV_FILES = (None, "deploy/compose/ohip.env.example")


# --- drain arithmetic -------------------------------------------------------------------------------------------
def drain_bound(env: dict[str, str], settings: Settings) -> float:
    """The server's rule, restated: an explicit OPERA_GRACEFUL_SHUTDOWN_TIMEOUT, else one queued, unretried OHIP
    call (OPERA_LIMITER_MAX_WAIT + OPERA_REQUEST_TIMEOUT) plus 5 s; unset variables take their defaults."""
    explicit = env.get("OPERA_GRACEFUL_SHUTDOWN_TIMEOUT")
    bound = float(explicit) if explicit else settings.limiter_max_wait + settings.request_timeout + 5.0
    assert settings.drain_timeout == bound, "the server and the deploy assets disagree on the drain bound"
    return bound


def seconds(duration: str) -> float:
    """A compose duration such as 60s, 1m30s or 1m."""
    parts = re.fullmatch(r"(?:(\d+)m)?(?:(\d+(?:\.\d+)?)s)?", duration)
    assert parts and duration, f"unexpected duration {duration!r}"
    return int(parts.group(1) or 0) * 60 + float(parts.group(2) or 0)


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_kubernetes_grace_period_covers_prestop_shutdown_delay_and_drain(
    overlay: str, rendered: dict[str, list[dict[str, Any]]], monkeypatch: pytest.MonkeyPatch
) -> None:
    docs = rendered[overlay]
    pod = only(docs, "Deployment")["spec"]["template"]["spec"]
    (container,) = pod["containers"]
    # The kubelet expands $(VAR) from the container's other variables (POD_IP from the downward API).
    literal_env = {e["name"]: e["value"].replace("$(POD_IP)", "10.0.0.7") for e in container.get("env", [])
                   if "value" in e}
    env = {**only(docs, "ConfigMap")["data"], **literal_env}
    settings = settings_from(env, monkeypatch)
    pre_stop = container["lifecycle"]["preStop"]["sleep"]["seconds"]
    needed = pre_stop + settings.shutdown_delay + drain_bound(env, settings) + MARGIN_S
    assert pod["terminationGracePeriodSeconds"] >= needed, (
        f"{overlay}: the kubelet would kill in-flight calls ({pod['terminationGracePeriodSeconds']} s < "
        f"preStop {pre_stop} + delay {settings.shutdown_delay} + drain {drain_bound(env, settings)} + {MARGIN_S})")


@pytest.mark.parametrize("env_file", ENV_FILES, ids=["sandbox-env", "ohip-env"])
@pytest.mark.parametrize("replica", REPLICAS)
def test_compose_stop_grace_period_covers_shutdown_delay_and_drain(
    replica: str, env_file: str | None, monkeypatch: pytest.MonkeyPatch
) -> None:
    env = with_real_key(compose_server_env(env_file, replica=replica))  # placeholders filled, as an operator does
    settings = settings_from(env, monkeypatch)
    grace = seconds(COMPOSE["services"][replica]["stop_grace_period"])
    assert grace >= settings.shutdown_delay + drain_bound(env, settings) + MARGIN_S, f"Docker would kill {replica}"


# --- the compose load balancer --------------------------------------------------------------------------------------
def haproxy_sections(text: str) -> dict[str, list[str]]:
    """Section header ('backend mcp-replicas') -> its directives, comments and blank lines dropped."""
    sections: dict[str, list[str]] = {}
    current = ""
    for raw in text.splitlines():
        line = raw.split("#", 1)[0].rstrip()
        if not line.strip():
            continue
        if not line[0].isspace():
            current = line.strip()
            sections[current] = []
        else:
            sections[current].append(" ".join(line.split()))
    return sections


def haproxy_seconds(value: str) -> float:
    number, unit = re.fullmatch(r"(\d+)(ms|s|m)?", value).groups()  # type: ignore[union-attr]
    return int(number) * {"ms": 0.001, "s": 1, "m": 60, None: 0.001}[unit]


HAPROXY = haproxy_sections(HAPROXY_CFG.read_text())


def directive(section: str, name: str) -> list[str]:
    return [line.removeprefix(name).strip() for line in HAPROXY[section] if line.startswith(name + " ")]


def test_haproxy_balances_round_robin_without_stickiness_over_every_replica() -> None:
    backend = "backend mcp-replicas"
    assert directive(backend, "balance") == ["roundrobin"]
    everything = [line for lines in HAPROXY.values() for line in lines]
    sticky = [line for line in everything if line.split()[0] in ("cookie", "stick", "stick-table", "hash-type")]
    assert not sticky, f"no stickiness: shared state makes any replica right ({sticky})"
    servers = {line.split()[0]: line.split()[1] for line in directive(backend, "server")}
    assert servers == {replica: f"{replica}:{compose_server_env(replica=replica)['OPERA_PORT']}"
                       for replica in REPLICAS}
    assert all(line.split()[2:] == ["check"] for line in directive(backend, "server"))
    # The LB takes the host port the server had: clients keep http://127.0.0.1:8000/mcp.
    lb = COMPOSE["services"]["lb"]
    assert "127.0.0.1:8000:8000" in lb["ports"] and directive("frontend mcp", "bind") == [":8000"]
    assert not any("ports" in COMPOSE["services"][replica] for replica in REPLICAS), "only through the LB"
    assert lb["volumes"] == [f"./{HAPROXY_CFG.relative_to(REPO)}:/usr/local/etc/haproxy/haproxy.cfg:ro"]


def test_haproxy_checks_ready_and_streams_sse_with_timeouts_beyond_the_drain(
    monkeypatch: pytest.MonkeyPatch
) -> None:
    backend = "backend mcp-replicas"
    assert "option httpchk" in HAPROXY[backend]
    (send,) = directive(backend, "http-check send")
    assert "meth GET" in send and "uri /ready" in send
    assert directive(backend, "http-check expect") == ["status 200"]
    everything = [line for lines in HAPROXY.values() for line in lines]
    assert not [line for line in everything if line.startswith(("compression", "option http-buffer-request"))], \
        "buffering would hold SSE events back"
    timeouts = dict(line.split(maxsplit=1) for line in directive("defaults", "timeout"))
    for replica in REPLICAS:
        env = compose_server_env(replica=replica)
        settings = settings_from(env, monkeypatch)
        bound = drain_bound(env, settings)
        assert haproxy_seconds(timeouts["server"]) >= bound and haproxy_seconds(timeouts["client"]) >= bound
        # A SIGTERMed replica keeps accepting until HAProxy has seen its /ready 503 often enough to stop routing.
        (defaults,) = directive(backend, "default-server")
        options = dict(zip(defaults.split()[::2], defaults.split()[1::2], strict=False))
        detection = (haproxy_seconds(options["inter"]) * int(options["fall"])
                     + haproxy_seconds(directive(backend, "timeout check")[0]))
        assert settings.shutdown_delay >= detection, f"{replica} closes before HAProxy stops routing to it"


def test_compose_replicas_share_the_bundled_redis_and_wait_for_their_dependencies(
    monkeypatch: pytest.MonkeyPatch
) -> None:
    redis = COMPOSE["services"]["redis"]
    for env_file in ENV_FILES:
        for replica in REPLICAS:
            settings = settings_from(with_real_key(compose_server_env(env_file, replica=replica)), monkeypatch)
            assert settings.shared_state and settings.redis_url is not None
            url = urlsplit(settings.redis_url.get_secret_value())
            assert url.hostname in COMPOSE["services"] and str(url.port) in redis["expose"]
            assert settings.redis_prefix == "opera-mcp"
    for replica in REPLICAS:
        service = COMPOSE["services"][replica]
        assert service["depends_on"]["redis"] == {"condition": "service_healthy"}
        assert service["depends_on"]["sandbox"] == {"condition": "service_healthy"}
        assert "healthcheck" in COMPOSE["services"]["redis"] and "healthcheck" in COMPOSE["services"]["sandbox"]
    volumes = [COMPOSE["services"][replica]["volumes"] for replica in REPLICAS]
    assert len({v[0].split(":")[0] for v in volumes}) == len(REPLICAS), "one token-cache volume per replica"


def test_prometheus_scrapes_each_replica_directly_with_a_replica_label() -> None:
    config = yaml.safe_load((REPO / "prometheus.yml").read_text())
    job = next(job for job in config["scrape_configs"] if job["job_name"] == "opera-cloud-mcp")
    targets = {target: group["labels"]["replica"] for group in job["static_configs"] for target in group["targets"]}
    assert targets == {f"{replica}:8000": replica for replica in REPLICAS}
    assert all(COMPOSE["services"]["prometheus"]["depends_on"][replica] for replica in REPLICAS)


@contextmanager
def running_haproxy(replicas: dict[str, int], workdir: Path) -> Iterator[tuple[str, str]]:
    """The shipped haproxy.cfg, run here with its replicas and listeners moved to loopback ports."""
    haproxy = binary("haproxy", "apt-get install -y --no-install-recommends haproxy (.ci/deploy-checks.sh does it)")
    text = HAPROXY_CFG.read_text()
    for name, port in replicas.items():
        text = text.replace(f"server {name} {name}:8000 ", f"server {name} 127.0.0.1:{port} ")
    lb_port, stats_port = free_port(), free_port()
    text = text.replace("bind :8000", f"bind 127.0.0.1:{lb_port}").replace("bind :8404", f"bind 127.0.0.1:{stats_port}")
    assert all(f"127.0.0.1:{port}" in text for port in [*replicas.values(), lb_port, stats_port])
    config = workdir / "haproxy.cfg"
    config.write_text(text)
    log = (workdir / "haproxy.log").open("w")
    process = subprocess.Popen([haproxy, "-db", "-f", str(config)], stdout=log, stderr=subprocess.STDOUT)
    try:
        yield f"http://127.0.0.1:{lb_port}", f"http://127.0.0.1:{stats_port}"
    finally:
        process.terminate()
        process.wait(timeout=10)
        log.close()


def server_states(stats_url: str) -> dict[str, str]:
    """HAProxy's view of each replica: UP, DOWN, or a transition such as 'UP 1/2'."""
    rows = httpx2.get(f"{stats_url}/stats;csv", timeout=5).text.lstrip("# ").splitlines()
    header = rows[0].split(",")
    cells = [dict(zip(header, row.split(","), strict=False)) for row in rows[1:]]
    return {c["svname"]: c["status"] for c in cells if c["pxname"] == "mcp-replicas" and c["svname"] in REPLICAS}


def wait_states(stats_url: str, expected: dict[str, str], timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while True:
        try:
            states = server_states(stats_url)
        except httpx2.HTTPError:
            states = {}
        if states == expected:
            return
        if time.monotonic() > deadline:
            raise TimeoutError(f"HAProxy never showed {expected}, last {states}")
        time.sleep(0.25)


def lb_health(stats_url: str) -> int:
    """The LB container's healthcheck: 200 while at least one replica is up."""
    return httpx2.get(f"{stats_url}/healthz", timeout=5).status_code


def tool_calls(server: ServerThread) -> float:
    text = httpx2.get(f"{server.url}/metrics", timeout=5).text
    return sum(float(line.rsplit(" ", 1)[1]) for line in text.splitlines()
               if line.startswith("opera_mcp_tool_calls_total{"))


async def search_through(lb_url: str, calls: int) -> None:
    async with mcp_client(lb_url) as client:
        for _ in range(calls):
            await call_ok(client, "search_reservations", {"surname": "Smith"})


@contextmanager
def two_replicas(first: Settings, second: Settings) -> Iterator[dict[str, ServerThread]]:
    with running_app(first) as one, running_app(second) as two:
        yield dict(zip(REPLICAS, (one, two), strict=True))


async def test_haproxy_spreads_calls_over_both_ready_replicas(sandbox_server: SandboxServer, tmp_path: Path) -> None:
    settings = settings_for_sandbox(sandbox_server.url)
    with two_replicas(settings, settings) as replicas:
        for server in replicas.values():
            wait_ready(server.url)
        with running_haproxy({name: s.port for name, s in replicas.items()}, tmp_path) as (lb, stats):
            wait_states(stats, dict.fromkeys(REPLICAS, "UP"))
            assert lb_health(stats) == 200
            await search_through(lb, 6)
            counts = {name: tool_calls(server) for name, server in replicas.items()}
    assert sum(counts.values()) == 6 and all(counts.values()), f"round robin reaches both replicas: {counts}"


async def test_haproxy_sends_nothing_to_a_replica_whose_ready_is_503(
    sandbox_server: SandboxServer, tmp_path: Path
) -> None:
    ready = settings_for_sandbox(sandbox_server.url)
    # Alive but never ready: OHIP (the sandbox) refuses its token requests, so /ready stays 503.
    unready = settings_for_sandbox(sandbox_server.url, client_secret="not-the-sandbox-secret")
    with two_replicas(ready, unready) as replicas:
        wait_ready(replicas["mcp-1"].url)
        with running_haproxy({name: s.port for name, s in replicas.items()}, tmp_path) as (lb, stats):
            wait_states(stats, {"mcp-1": "UP", "mcp-2": "DOWN"})
            await search_through(lb, 4)
            assert tool_calls(replicas["mcp-1"]) == 4 and tool_calls(replicas["mcp-2"]) == 0


# --- Kubernetes: Redis for the production pods ------------------------------------------------------------------------
def test_production_pods_take_redis_from_the_secret_and_the_service_has_no_affinity(
    rendered: dict[str, list[dict[str, Any]]], monkeypatch: pytest.MonkeyPatch
) -> None:
    docs = rendered["production"]
    secret = yaml.safe_load((REPO / "deploy" / "overlays" / "production" / "secret.example.yaml").read_text())
    (container,) = only(docs, "Deployment")["spec"]["template"]["spec"]["containers"]
    redis_env = {e["name"]: e for e in container["env"]}["OPERA_REDIS_URL"]
    ref = redis_env["valueFrom"]["secretKeyRef"]
    assert ref["name"] == secret["metadata"]["name"] and ref["key"] in secret["stringData"]
    assert not ref.get("optional"), "a pod without Redis would keep its state to itself"
    config = only(docs, "ConfigMap")["data"]
    settings = settings_from({**config, "OPERA_REDIS_URL": secret["stringData"][ref["key"]]}, monkeypatch)
    assert settings.shared_state and settings.redis_prefix == config["OPERA_REDIS_PREFIX"]
    # The sandbox overlay is one pod with its embedded world: nothing to share.
    sandbox_container = only(rendered["sandbox"], "Deployment")["spec"]["template"]["spec"]["containers"][0]
    assert "OPERA_REDIS_URL" not in {e["name"] for e in sandbox_container.get("env", [])}
    for overlay in OVERLAYS:
        service = only(rendered[overlay], "Service")["spec"]
        assert "sessionAffinity" not in service or service["sessionAffinity"] == "None", overlay


def test_the_example_redis_is_what_the_secret_and_the_network_policy_point_at(
    rendered: dict[str, list[dict[str, Any]]], rendered_redis: list[dict[str, Any]]
) -> None:
    secret = yaml.safe_load((REPO / "deploy" / "overlays" / "production" / "secret.example.yaml").read_text())
    url = urlsplit(secret["stringData"]["redis-url"])
    service = only(rendered_redis, "Service")
    namespace = only(rendered["production"], "Namespace")["metadata"]["name"]
    assert url.hostname == f"{service['metadata']['name']}.{namespace}.svc"
    assert url.port in {p["port"] for p in service["spec"]["ports"]}
    statefulset = only(rendered_redis, "StatefulSet")
    assert statefulset["metadata"]["namespace"] == service["metadata"]["namespace"] == namespace
    pod_labels = statefulset["spec"]["template"]["metadata"]["labels"]
    assert service["spec"]["selector"].items() <= pod_labels.items()

    # The MCP pods may reach it, and it admits only them.
    egress = only(rendered["production"], "NetworkPolicy")["spec"]["egress"]
    to_redis = next(rule for rule in egress if any(p["port"] == url.port for p in rule["ports"]))
    assert to_redis["to"][0]["podSelector"]["matchLabels"].items() <= pod_labels.items()
    policy = only(rendered_redis, "NetworkPolicy")["spec"]
    mcp_labels = only(rendered["production"], "Deployment")["spec"]["template"]["metadata"]["labels"]
    (ingress,) = policy["ingress"]
    assert ingress["from"][0]["podSelector"]["matchLabels"].items() <= mcp_labels.items()
    assert set(policy["policyTypes"]) == {"Ingress", "Egress"} and not policy.get("egress")

    (container,) = statefulset["spec"]["template"]["spec"]["containers"]
    assert "redis-cli" in " ".join(container["readinessProbe"]["exec"]["command"])
    assert container["resources"]["requests"]["memory"] and container["resources"]["limits"]["memory"]
    assert container["securityContext"]["readOnlyRootFilesystem"] is True
    mounts = {m["mountPath"] for m in container["volumeMounts"]}
    claims = {c["metadata"]["name"] for c in statefulset["spec"]["volumeClaimTemplates"]}
    assert "/data" in mounts and "data" in claims, "the append-only file needs a persistent volume"
    redis_secret = yaml.safe_load((REPO / "deploy" / "redis" / "secret.example.yaml").read_text())
    refs = {e["valueFrom"]["secretKeyRef"]["name"] for e in container["env"]}
    assert refs == {redis_secret["metadata"]["name"]}


def mebibytes(quantity: str) -> float:
    """Kubernetes (512Mi), Redis (256mb) and compose (512m) memory sizes, in MiB."""
    number, unit = re.fullmatch(r"(\d+)(Mi|Gi|mb|gb|m|g)", quantity).groups()  # type: ignore[union-attr]
    return int(number) * (1024 if unit.lower().startswith("g") else 1)


# --- Redis as shipped keeps idempotency records ------------------------------------------------------------------
REDIS_CONF = REPO / "deploy" / "redis" / "redis.conf"


def redis_conf() -> dict[str, str]:
    pairs = (line.split(maxsplit=1) for line in REDIS_CONF.read_text().splitlines()
             if line.strip() and not line.startswith("#"))
    return {name: value for name, value in pairs}


def redis_setups() -> dict[str, list[str]]:
    """How each shipped Redis starts: the Kubernetes example's config file, the compose service's flags."""
    return {"kubernetes": [str(REDIS_CONF)], "compose": COMPOSE["services"]["redis"]["command"][1:]}


@contextmanager
def running_redis(arguments: list[str], workdir: Path) -> Iterator[list[str]]:
    server = binary("redis-server", "apt-get install -y --no-install-recommends redis-server (deploy checks do it)")
    cli = binary("redis-cli", "apt-get install -y --no-install-recommends redis-server (deploy checks do it)")
    port = free_port()
    # Only where it listens and writes changes for the test; command-line options override the file.
    process = subprocess.Popen([server, *arguments, "--port", str(port), "--bind", "127.0.0.1",
                                "--dir", str(workdir), "--daemonize", "no", "--logfile", str(workdir / "log")])
    command = [cli, "-p", str(port)]
    try:
        deadline = time.monotonic() + 20
        while subprocess.run([*command, "ping"], capture_output=True, text=True).stdout.strip() != "PONG":
            assert process.poll() is None, (workdir / "log").read_text()
            assert time.monotonic() < deadline, "redis-server never answered"
            time.sleep(0.1)
        yield command
    finally:
        process.terminate()
        process.wait(timeout=20)


def redis(command: list[str], *args: str) -> str:
    return subprocess.run([*command, *args], capture_output=True, text=True, check=True).stdout.strip()


def test_the_example_redis_memory_limit_leaves_room_for_an_aof_rewrite(rendered_redis: list[dict[str, Any]]) -> None:
    (container,) = only(rendered_redis, "StatefulSet")["spec"]["template"]["spec"]["containers"]
    limit = mebibytes(container["resources"]["limits"]["memory"])
    assert mebibytes(redis_conf()["maxmemory"]) <= limit / 2, "the fork of a rewrite needs memory too"
    compose = COMPOSE["services"]["redis"]
    flags = compose["command"]
    assert mebibytes(flags[flags.index("--maxmemory") + 1]) <= mebibytes(compose["mem_limit"]) / 2


@pytest.mark.parametrize("setup", ["kubernetes", "compose"])
def test_full_redis_refuses_new_keys_instead_of_evicting_idempotency_records(setup: str, tmp_path: Path) -> None:
    with running_redis(redis_setups()[setup], tmp_path) as cli:
        assert redis(cli, "config", "get", "maxmemory-policy").splitlines()[1] == "noeviction"
        assert redis(cli, "config", "get", "appendonly").splitlines()[1] == "yes"
        assert int(redis(cli, "config", "get", "maxmemory").splitlines()[1]) > 0
        # Shrink the budget to what is used now plus a little, then write records with a day's TTL, as the
        # idempotency store does, until Redis refuses: the first record must still be there.
        used = int(re.search(r"used_memory:(\d+)", redis(cli, "info", "memory")).group(1))  # type: ignore[union-attr]
        redis(cli, "config", "set", "maxmemory", str(used + 512 * 1024))
        record = "x" * 8000
        refused = ""
        for n in range(1000):
            reply = redis(cli, "set", f"opera-mcp:idem:{n}", record, "EX", "86400")
            if reply != "OK":
                refused = reply
                break
        assert refused.startswith("OOM"), f"Redis never refused a write: {refused!r}"
        assert redis(cli, "exists", "opera-mcp:idem:0") == "1", "a record was evicted"
