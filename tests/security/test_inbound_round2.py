"""Attack table, round two (issue 11, items 1-5): what probing from outside found, each over real HTTP on loopback.

Failed authentication throttled per source and per key prefix and audited in aggregate; credentials in a URL
refused and never logged; the Host allow-list on every route, matched exactly; the inbound limiter keyed on the
client behind a trusted proxy; JSON-RPC requests with an id that is not a string or an integer answered 400.

Different source addresses are real: the client binds 127.0.0.x (Linux routes all of 127/8 to loopback)."""

from __future__ import annotations

import json
import os
import secrets
import signal
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx2
import pytest

from app.server import create_app
from tests.security.conftest import MCP_HEADERS, Keys, RunningApp, rpc, rpc_result
from tests.support.apps import embedded_settings, wait_ready
from tests.support.servers import free_port, serve


def source(address: str) -> httpx2.Client:
    """An HTTP client whose connections come from `address` (a 127.0.0.x address of this machine)."""
    return httpx2.Client(transport=httpx2.HTTPTransport(local_address=address), timeout=30)


def post_mcp(client: httpx2.Client | Any, url: str, body: object = None, headers: dict[str, str] | None = None,
             path: str = "/mcp") -> httpx2.Response:
    payload = rpc("tools/list") if body is None else body
    return client.post(f"{url}{path}", json=payload, headers={**MCP_HEADERS, **(headers or {})})


def wrong_key(prefix: str = "omcp_") -> str:
    return prefix + secrets.token_urlsafe(32)[: 48 - len(prefix)]


@contextmanager
def stoppable_app(tmp_path: Path, **overrides: Any) -> Iterator[tuple[RunningApp, Any]]:
    """Our app as `opera-cloud-mcp serve` runs it: uvicorn's own proxy-header handling off (it would rewrite the
    peer address from X-Forwarded-For before our gate sees it). The test may stop the server itself, to read what
    it writes at shutdown."""
    audit_path = tmp_path / f"audit-{secrets.token_hex(3)}.jsonl"
    settings, port = embedded_settings(audit_log=str(audit_path), **overrides)
    context = serve(create_app(settings), port=port, proxy_headers=False)
    thread = context.__enter__()
    stopped = False

    def stop() -> None:
        nonlocal stopped
        if not stopped:
            stopped = True
            context.__exit__(None, None, None)

    try:
        yield RunningApp(url=thread.url, app=thread.app, audit_path=audit_path), stop
    finally:
        stop()


# --- 1. failed authentication is throttled, counted and audited in aggregate ----------------------------------
def test_300_wrong_keys_from_one_source_are_throttled_and_audited_in_a_few_lines(tmp_path: Path,
                                                                                 api_keys: Keys) -> None:
    with stoppable_app(tmp_path, mcp_auth="api_key", mcp_api_keys=api_keys.lines) as (app, stop):
        started = time.monotonic()
        with source("127.0.0.2") as attacker:
            answers = [post_mcp(attacker, app.url, headers={"Authorization": f"Bearer {wrong_key()}"})
                       for _ in range(300)]
            elapsed = time.monotonic() - started
            statuses = Counter(a.status_code for a in answers)
            assert set(statuses) == {401, 429}
            # 20 failures a minute per source (OPERA_AUTH_FAILURES_PER_MINUTE): the burst, then one per 3 s.
            assert 20 <= statuses[401] <= 20 + int(elapsed / 3) + 1, (statuses, elapsed)
            assert statuses[429] >= 300 - 20 - int(elapsed / 3) - 1
            first_429 = next(i for i, a in enumerate(answers) if a.status_code == 429)
            assert first_429 == 20
            throttled = answers[first_429]
            assert 1 <= int(throttled.headers["retry-after"]) <= 3
            assert throttled.json()["error"] == "auth_throttled"
            # The right key from the throttled source waits too; from another source it works at once.
            assert post_mcp(attacker, app.url,
                            headers={"Authorization": f"Bearer {api_keys.reader}"}).status_code == 429
        with source("127.0.0.3") as colleague:
            assert post_mcp(colleague, app.url,
                            headers={"Authorization": f"Bearer {api_keys.reader}"}).status_code == 200

        assert app.metric("opera_mcp_auth_failures_total", reason="invalid_key") == statuses[401]
        assert app.metric("opera_mcp_auth_failures_total", reason="throttled") == statuses[429] + 1
        # One line per source and reason at once, the rest counted: the file no longer grows per attempt.
        events = app.audit_events()
        assert [(e["reason"], e["http"]["count"], e["caller"]["client"]) for e in events] == [
            ("invalid_key", 1, "127.0.0.2"), ("auth_throttled", 1, "127.0.0.2")]
        assert app.audit_path.stat().st_size < 2_000
        stop()
        # At shutdown the counts of the open windows are written: every attempt is accounted for.
        events = app.audit_events()
        assert len(events) == 4
        counted = Counter()
        for event in events:
            counted[event["reason"]] += event["http"]["count"]
        assert counted == {"invalid_key": statuses[401], "auth_throttled": statuses[429] + 1}


def test_wrong_keys_sharing_a_prefix_are_throttled_across_sources(start_app, api_keys: Keys) -> None:
    app = start_app(mcp_auth="api_key", mcp_api_keys=api_keys.lines)
    prefix = "omcp_" + "Zq7xW2p"  # the first 12 characters, as a guesser cycling through addresses keeps them
    statuses: Counter[int] = Counter()
    for n in range(40):  # 40 sources, 5 attempts each: no source alone reaches its 20 failures
        with source(f"127.0.0.{10 + n}") as client:
            for _ in range(5):
                statuses[post_mcp(client, app.url,
                                  headers={"X-API-Key": wrong_key(prefix)}).status_code] += 1
    assert statuses[429] >= 170 and 20 <= statuses[401] <= 30, statuses
    with source("127.0.0.10") as client:
        # Another prefix from one of those sources is judged (401), and a valid key works.
        assert post_mcp(client, app.url, headers={"X-API-Key": wrong_key("omcp_Other12")}).status_code == 401
        assert post_mcp(client, app.url, headers={"X-API-Key": api_keys.reader}).status_code == 200


# --- 2. credentials in the query string ----------------------------------------------------------------------
CLEAN_ENV = {k: v for k, v in os.environ.items() if not k.startswith(("OPERA_", "OTEL_"))}


def test_a_key_in_the_url_is_refused_with_where_it_goes_and_no_log_line_holds_it(tmp_path: Path,
                                                                                 api_keys: Keys) -> None:
    port = free_port()
    log_path = tmp_path / "server.log"
    env = {**CLEAN_ENV, "OPERA_PORT": str(port), "OPERA_MCP_AUTH": "api_key", "OPERA_MCP_API_KEYS": api_keys.lines,
           "OPERA_SHUTDOWN_DELAY": "0", "OPERA_SANDBOX_BUSINESS_DATE": "2026-05-01", "OPERA_LOG_LEVEL": "DEBUG"}
    with log_path.open("w") as log_file:
        proc = subprocess.Popen([sys.executable, "-m", "app", "serve"], env=env, stdout=log_file,
                                stderr=subprocess.STDOUT)
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                if httpx2.get(f"{base}/live", timeout=5).status_code == 200:
                    break
            except httpx2.TransportError:
                pass
            assert proc.poll() is None, log_path.read_text()
            assert time.monotonic() < deadline, "server never started"
            time.sleep(0.1)
        with httpx2.Client(timeout=30) as http:
            for query in (f"api_key={api_keys.reader}", f"token={api_keys.reader}", f"ApiKey={api_keys.reader}",
                          f"x=1&access_token={api_keys.reader}"):
                refused = post_mcp(http, base, path=f"/mcp?{query}")
                assert refused.status_code == 400, (query, refused.text)
                assert refused.json()["error"] == "credentials_in_query"
                assert "Authorization: Bearer" in refused.json()["error_description"]
                assert "X-API-Key" in refused.json()["error_description"]
            assert http.get(f"{base}/health?key={api_keys.reader}").status_code == 400
            # The same key in the header works, and ordinary requests are served (so an access log would speak).
            assert post_mcp(http, base, headers={"Authorization": f"Bearer {api_keys.reader}"}).status_code == 200
            assert http.get(f"{base}/health").status_code == 200
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.wait(timeout=60)
    output = log_path.read_text()
    assert "opera-cloud-mcp" in output  # the banner: the output was captured
    assert api_keys.reader not in output
    assert "api_key=" not in output and "access_token=" not in output
    assert "POST /mcp" not in output and "GET /health" not in output  # no access log at all


# --- 3. the Host allow-list on every route, matched exactly --------------------------------------------------
PROBES = ("/health", "/ready", "/live", "/metrics")


def test_probes_answer_only_loopback_allowed_and_probe_hosts(start_app, api_keys: Keys) -> None:
    app = start_app(mcp_auth="api_key", mcp_api_keys=api_keys.lines, allowed_hosts="mcp.hotel.example",
                    probe_hosts="10.0.0.0/8,prometheus-target:9100")
    wait_ready(app.url)
    port = app.url.rsplit(":", 1)[1]
    for path in PROBES:
        for host in ("attacker.example", f"attacker.example:{port}", "192.168.1.20:8000", "prometheus-target:9101"):
            refused = httpx2.get(f"{app.url}{path}", headers={"Host": host})
            assert refused.status_code == 421, (path, host)
            assert "OPERA_PROBE_HOSTS" in refused.json()["error_description"]
        for host in (f"127.0.0.1:{port}", "localhost", "mcp.hotel.example", "10.1.2.3:8000", "prometheus-target:9100"):
            assert httpx2.get(f"{app.url}{path}", headers={"Host": host}).status_code == 200, (path, host)
    # Probe hosts open the probes only, never the MCP endpoint.
    auth = {"Authorization": f"Bearer {api_keys.reader}"}
    assert post_mcp(httpx2, app.url, headers={**auth, "Host": "10.1.2.3:8000"}).status_code == 421
    assert post_mcp(httpx2, app.url, headers={**auth, "Host": "mcp.hotel.example"}).status_code == 200
    assert app.metric("opera_mcp_refused_calls_total", reason="bad_host") == 4 * len(PROBES) + 1


HOSTILE_HOSTS = ("localhost:1@attacker.example", "localhost.attacker.example", "127.0.0.1.attacker.example:80",
                 "localhost:8000.attacker.example", "localhost:80:81", "localhost:", "localhost:abc",
                 "localhost:99999", "attacker.example#localhost:1", "[::1]x:1", "")
HOSTILE_ORIGINS = ("http://localhost:1@attacker.example", "http://localhost.attacker.example",
                   "http://127.0.0.1.attacker.example:8000", "https://localhost:8000", "null",
                   "http://localhost:8000/path", "localhost:8000")


@pytest.mark.parametrize("path", ["/mcp", "/health"])
def test_host_and_origin_are_matched_exactly_never_by_prefix(start_app, api_keys: Keys, path: str) -> None:
    app = start_app(mcp_auth="api_key", mcp_api_keys=api_keys.lines)
    auth = {"Authorization": f"Bearer {api_keys.reader}"}

    def ask(headers: dict[str, str]) -> int:
        if path == "/mcp":
            return post_mcp(httpx2, app.url, headers={**auth, **headers}).status_code
        return httpx2.get(f"{app.url}{path}", headers=headers).status_code

    for host in HOSTILE_HOSTS:
        assert ask({"Host": host}) == 421, host
    for origin in HOSTILE_ORIGINS:
        assert ask({"Origin": origin}) == 403, origin
    for host in ("localhost", "LocalHost:1234", "[::1]:8000", "127.0.0.1"):
        assert ask({"Host": host}) == 200, host
    for origin in ("http://localhost:5173", "http://127.0.0.1", "http://[::1]:3000"):
        assert ask({"Origin": origin}) == 200, origin


def test_health_details_only_for_this_machine_or_an_authenticated_caller(tmp_path: Path, api_keys: Keys) -> None:
    with stoppable_app(tmp_path, mcp_auth="api_key", mcp_api_keys=api_keys.lines,
                       trusted_proxies="127.0.0.1") as (app, _):
        health_details(app, api_keys)


def health_details(app: RunningApp, api_keys: Keys) -> None:
    wait_ready(app.url)
    base_url = app.app.state.http.settings.effective_base_url

    local = httpx2.get(f"{app.url}/health")
    assert local.json()["components"]["ohip"]["base_url"] == base_url
    # Through the trusted proxy, from elsewhere: statuses only.
    outside = {"X-Forwarded-For": "203.0.113.9"}
    public = httpx2.get(f"{app.url}/health", headers=outside)
    assert public.status_code == 200
    assert base_url not in public.text and "last_error" not in public.text and "version" not in public.json()
    assert public.json()["components"]["ohip"] == {"status": "ok"}
    assert public.json()["status"] == local.json()["status"]
    # With a valid key, the details; with a wrong one, the usual refusal.
    keyed = httpx2.get(f"{app.url}/health", headers={**outside, "X-API-Key": api_keys.reader})
    assert keyed.json()["components"]["ohip"]["base_url"] == base_url
    assert httpx2.get(f"{app.url}/health", headers={**outside, "X-API-Key": wrong_key()}).status_code == 401
    # A local reverse proxy that is not trusted relays someone else: no details either.
    with source("127.0.0.5") as relay:
        relayed = relay.get(f"{app.url}/health", headers={"X-Forwarded-For": "198.51.100.4"})
        assert relayed.status_code == 200 and base_url not in relayed.text


def test_ready_reasons_leave_out_the_last_error_for_callers_from_elsewhere(tmp_path: Path) -> None:
    # OHIP's token endpoint refuses connections: /ready is 503 and knows why.
    dead = f"http://127.0.0.1:{free_port()}/oauth/v1/tokens"
    with stoppable_app(tmp_path, token_url=dead, trusted_proxies="127.0.0.1") as (app, _):
        deadline = time.monotonic() + 30
        while not (local := httpx2.get(f"{app.url}/ready")).json()["reasons"][-1].startswith("no OHIP token yet:"):
            assert time.monotonic() < deadline, local.text
            time.sleep(0.05)
        assert local.status_code == 503
        outside = httpx2.get(f"{app.url}/ready", headers={"X-Forwarded-For": "203.0.113.9"})
        assert outside.status_code == 503
        assert outside.json()["reasons"] == ["no OHIP token yet"]
        public = httpx2.get(f"{app.url}/health", headers={"X-Forwarded-For": "203.0.113.9"}).json()
        assert public["components"]["auth"] == {"status": "down"}
        assert public["ready"] == outside.json()


# --- 4. the inbound limiter keys on the client behind a trusted proxy -----------------------------------------
PING = rpc("ping")


def test_200_anonymous_agents_behind_a_trusted_proxy_each_have_their_own_allowance(tmp_path: Path) -> None:
    with stoppable_app(tmp_path, trusted_proxies="127.0.0.1", inbound_requests_per_minute=5) as (app, _), \
            httpx2.Client(timeout=30) as proxy:
        statuses = Counter(
            post_mcp(proxy, app.url, PING, headers={"X-Forwarded-For": f"10.20.{n // 250}.{n % 250 + 1}"}).status_code
            for n in range(200) for _ in range(3)
        )
        assert statuses == {200: 600}
        # Each agent's own allowance is real: the sixth request of one agent within the minute waits.
        one = {"X-Forwarded-For": "198.51.100.7, 127.0.0.1"}  # the proxy chain: client, then a trusted hop
        assert [post_mcp(proxy, app.url, PING, headers=one).status_code for _ in range(6)] == [200] * 5 + [429]
    assert app.audit_events()[-1]["caller"] == {"kind": "unauthenticated", "client": "198.51.100.7"}


def test_an_untrusted_peer_cannot_choose_its_bucket_with_x_forwarded_for(tmp_path: Path) -> None:
    with stoppable_app(tmp_path, trusted_proxies="10.9.9.9", inbound_requests_per_minute=5) as (app, _), \
            httpx2.Client(timeout=30) as client:
        statuses = [post_mcp(client, app.url, PING, headers={"X-Forwarded-For": f"10.30.0.{n + 1}"}).status_code
                    for n in range(10)]
    assert statuses == [200] * 5 + [429] * 5
    assert app.audit_events()[-1]["caller"] == {"kind": "unauthenticated", "client": "127.0.0.1"}


# --- 5. invalid JSON-RPC ids -------------------------------------------------------------------------------------
@pytest.mark.parametrize("raw_id", ["null", '{"a": 1}', "[1]", "1.5", "NaN", "Infinity", "true"])
def test_a_request_whose_id_is_not_a_string_or_integer_gets_400_with_a_jsonrpc_error(
    start_app, api_keys: Keys, raw_id: str
) -> None:
    app = start_app(mcp_auth="api_key", mcp_api_keys=api_keys.lines)
    headers = {**MCP_HEADERS, "Authorization": f"Bearer {api_keys.reader}"}
    body = '{"jsonrpc": "2.0", "id": ' + raw_id + ', "method": "tools/list", "params": {}}'
    answer = httpx2.post(f"{app.url}/mcp", content=body.encode(), headers=headers)
    assert answer.status_code == 400
    message = answer.json()
    assert message["jsonrpc"] == "2.0" and message["id"] is None
    assert message["error"]["code"] == -32600
    assert "string or an integer" in message["error"]["message"]
    assert app.metric("opera_mcp_refused_calls_total", reason="invalid_id") == 1
    # Strings and integers are answered; a notification (no id) still gets 202 and no body.
    for good in ('"req-1"', "7"):
        served = httpx2.post(f"{app.url}/mcp", content=body.replace(raw_id, good, 1).encode(), headers=headers)
        assert served.status_code == 200 and rpc_result(served)["id"] == json.loads(good)
    notification = httpx2.post(f"{app.url}/mcp", json={"jsonrpc": "2.0", "method": "notifications/initialized"},
                              headers=headers)
    assert notification.status_code == 202 and notification.content == b""


# --- the new settings refuse a malformed entry with one line ------------------------------------------------------
@pytest.mark.parametrize(("variable", "value", "words"), [
    ("OPERA_ALLOWED_HOSTS", "https://mcp.hotel.example", "has a scheme"),
    ("OPERA_ALLOWED_HOSTS", "*.hotel.example", "'*' only as a whole port"),
    ("OPERA_ALLOWED_HOSTS", "localhost:1@attacker.example", "is not host, host:port or host:*"),
    ("OPERA_ALLOWED_ORIGINS", "mcp.hotel.example:*", "is not an origin"),
    ("OPERA_PROBE_HOSTS", "10.0.0.0/33", "is not a network"),
    ("OPERA_TRUSTED_PROXIES", "proxy.internal", "is not an address or network"),
    ("OPERA_TRUSTED_PROXY_HEADER", "X Forwarded", "must be a header name"),
    ("OPERA_AUTH_FAILURES_PER_MINUTE", "0", "greater than or equal to 1"),
])
def test_a_malformed_inbound_setting_stops_the_server_with_one_line(variable: str, value: str, words: str) -> None:
    done = subprocess.run([sys.executable, "-m", "app", "serve"], env={**CLEAN_ENV, variable: value},
                          capture_output=True, text=True, timeout=60)
    assert done.returncode == 2
    [line] = done.stderr.strip().splitlines()
    assert line.startswith(f"configuration error: {variable}: ") and words in line, line
