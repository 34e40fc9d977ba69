"""Attack table, HTTP rows: credentials, Host/Origin, body size, malformed JSON and batches, rate limit, probes.

Each test talks real HTTP to our app on loopback (sandbox mode) and checks the status, the audit log and the
metric a refusal must leave behind."""

from __future__ import annotations

import httpx2
import pytest

from tests.security.conftest import MCP_HEADERS, Keys, rpc, tool_names


def post_mcp(url: str, body: object = None, headers: dict[str, str] | None = None, **kwargs: object) -> httpx2.Response:
    payload = rpc("tools/list") if body is None else body
    return httpx2.post(f"{url}/mcp", json=payload, headers={**MCP_HEADERS, **(headers or {})}, timeout=30, **kwargs)


def test_missing_credentials_get_401_with_a_www_authenticate_challenge(start_app, api_keys: Keys) -> None:
    app = start_app(mcp_auth="api_key", mcp_api_keys=api_keys.lines)
    response = post_mcp(app.url)
    assert response.status_code == 401
    assert response.headers["www-authenticate"].startswith("Bearer ")
    assert "X-API-Key" in response.json()["error_description"]
    assert app.metric("opera_mcp_auth_failures_total", reason="missing_credentials") == 1
    [event] = app.audit_events()
    assert (event["event"], event["outcome"], event["reason"]) == ("http_refused", "refused", "missing_credentials")
    assert event["http"]["status"] == 401


def test_a_wrong_api_key_is_refused_and_a_right_one_works_in_either_header(start_app, api_keys: Keys) -> None:
    app = start_app(mcp_auth="api_key", mcp_api_keys=api_keys.lines)
    wrong = post_mcp(app.url, headers={"Authorization": "Bearer omcp_not-a-key-at-all"})
    assert wrong.status_code == 401
    assert 'error="invalid_token"' in wrong.headers["www-authenticate"]
    assert post_mcp(app.url, headers={"X-API-Key": api_keys.reader[:-1] + "x"}).status_code == 401
    assert app.metric("opera_mcp_auth_failures_total", reason="invalid_key") == 2
    # Aggregated: the first failure of a source in a window is written at once, the rest as one counted line later.
    [event] = app.audit_events()
    assert (event["reason"], event["http"]["count"]) == ("invalid_key", 1)
    for headers in ({"Authorization": f"Bearer {api_keys.reader}"}, {"X-API-Key": api_keys.reader}):
        ok = post_mcp(app.url, headers=headers)
        assert ok.status_code == 200, ok.text
        assert "search_reservations" in tool_names(ok)


def test_probes_stay_open_and_metrics_can_be_closed_by_token(start_app, api_keys: Keys) -> None:
    app = start_app(mcp_auth="api_key", mcp_api_keys=api_keys.lines, metrics_token="scrape-secret-123")
    assert httpx2.get(f"{app.url}/live").status_code == 200
    assert httpx2.get(f"{app.url}/health").status_code == 200
    assert httpx2.get(f"{app.url}/metrics").status_code == 401
    scraped = httpx2.get(f"{app.url}/metrics", headers={"Authorization": "Bearer scrape-secret-123"})
    assert scraped.status_code == 200 and "opera_mcp_auth_failures" in scraped.text


def test_a_hostile_origin_gets_403(start_app, api_keys: Keys) -> None:
    app = start_app(mcp_auth="api_key", mcp_api_keys=api_keys.lines)
    response = post_mcp(app.url, headers={"Authorization": f"Bearer {api_keys.reader}",
                                          "Origin": "https://evil.example"})
    assert response.status_code == 403
    assert app.metric("opera_mcp_refused_calls_total", reason="bad_origin") == 1
    assert app.audit_events()[-1]["reason"] == "bad_origin"
    allowed = post_mcp(app.url, headers={"Authorization": f"Bearer {api_keys.reader}",
                                         "Origin": f"http://127.0.0.1:{app.url.rsplit(':', 1)[1]}"})
    assert allowed.status_code == 200


def test_an_unknown_host_gets_421_unless_allowed(start_app, api_keys: Keys) -> None:
    app = start_app(mcp_auth="api_key", mcp_api_keys=api_keys.lines, allowed_hosts="mcp.hotel.example")
    auth = {"Authorization": f"Bearer {api_keys.reader}"}
    assert post_mcp(app.url, headers={**auth, "Host": "attacker.example"}).status_code == 421
    assert app.metric("opera_mcp_refused_calls_total", reason="bad_host") == 1
    assert app.audit_events()[-1]["reason"] == "bad_host"
    assert post_mcp(app.url, headers={**auth, "Host": "mcp.hotel.example"}).status_code == 200


def test_a_5_mib_body_gets_413_declared_or_streamed(start_app, api_keys: Keys) -> None:
    app = start_app(mcp_auth="api_key", mcp_api_keys=api_keys.lines)
    auth = {**MCP_HEADERS, "Authorization": f"Bearer {api_keys.reader}"}
    big = b'{"jsonrpc":"2.0","id":1,"method":"tools/list","params":{"pad":"' + b"x" * (5 * 1024 * 1024) + b'"}}'
    declared = httpx2.post(f"{app.url}/mcp", content=big, headers=auth, timeout=60)
    assert declared.status_code == 413

    def chunks():  # no Content-Length: the gate must count while reading
        for start in range(0, len(big), 65536):
            yield big[start:start + 65536]

    streamed = httpx2.post(f"{app.url}/mcp", content=chunks(), headers=auth, timeout=60)
    assert streamed.status_code == 413
    assert app.metric("opera_mcp_refused_calls_total", reason="body_too_large") == 2
    assert post_mcp(app.url, headers=auth).status_code == 200


def test_malformed_json_and_batches_get_4xx_and_the_server_keeps_serving(start_app, api_keys: Keys) -> None:
    app = start_app(mcp_auth="api_key", mcp_api_keys=api_keys.lines)
    auth = {**MCP_HEADERS, "Authorization": f"Bearer {api_keys.reader}"}
    broken = httpx2.post(f"{app.url}/mcp", content=b'{"jsonrpc": "2.0", "id": 1, "method": ', headers=auth)
    assert 400 <= broken.status_code < 500
    not_rpc = httpx2.post(f"{app.url}/mcp", content=b'"just a string"', headers=auth)
    assert 400 <= not_rpc.status_code < 500
    batch = httpx2.post(f"{app.url}/mcp", json=[rpc("tools/list", request_id=1), rpc("tools/list", request_id=2)],
                       headers=auth)
    assert batch.status_code == 400
    assert "batch" in batch.json()["error"]["message"]
    assert app.metric("opera_mcp_refused_calls_total", reason="batch") == 1
    assert post_mcp(app.url, headers=auth).status_code == 200
    assert httpx2.get(f"{app.url}/live").status_code == 200


def test_the_inbound_rate_limit_answers_429_with_retry_after_per_caller(start_app, api_keys: Keys) -> None:
    app = start_app(mcp_auth="api_key", mcp_api_keys=api_keys.lines, inbound_requests_per_minute=3)
    reader = {"Authorization": f"Bearer {api_keys.reader}"}
    statuses = [post_mcp(app.url, headers=reader).status_code for _ in range(3)]
    assert statuses == [200, 200, 200]
    limited = post_mcp(app.url, headers=reader)
    assert limited.status_code == 429
    assert int(limited.headers["retry-after"]) >= 1
    assert app.metric("opera_mcp_refused_calls_total", reason="rate_limited") == 1
    assert app.audit_events()[-1]["caller"]["name"] == "reader"
    # Another caller has its own allowance.
    assert post_mcp(app.url, headers={"Authorization": f"Bearer {api_keys.writer}"}).status_code == 200


def test_the_stateless_endpoint_issues_no_session_another_caller_could_reuse(start_app, api_keys: Keys) -> None:
    app = start_app(mcp_auth="api_key", mcp_api_keys=api_keys.lines)
    init = post_mcp(app.url, rpc("initialize", {"protocolVersion": "2025-11-25", "capabilities": {},
                                                "clientInfo": {"name": "t", "version": "1"}}),
                    headers={"Authorization": f"Bearer {api_keys.reader}"})
    assert init.status_code == 200
    assert "mcp-session-id" not in init.headers
    # Presenting someone's session id is meaningless: each request stands on its own credentials.
    stolen = post_mcp(app.url, headers={"Mcp-Session-Id": "0123456789abcdef"})
    assert stolen.status_code == 401


@pytest.mark.parametrize("host", ["0.0.0.0", "10.1.2.3"])
def test_serving_without_auth_on_a_public_bind_exits_2_with_one_line(host: str) -> None:
    import os
    import subprocess
    import sys

    env = {k: v for k, v in os.environ.items() if not k.startswith("OPERA_")}
    env.update({"OPERA_HOST": host, "OPERA_MCP_AUTH": "none"})
    done = subprocess.run([sys.executable, "-m", "app", "serve"], env=env, capture_output=True, text=True,
                          timeout=60)
    assert done.returncode == 2
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and "OPERA_MCP_AUTH" in lines[0] and "OPERA_ALLOW_UNAUTHENTICATED" in lines[0]
