"""The sandbox's gateway over real HTTP: the token endpoint and its refusals (enterpriseId, 402 wrong password),
revoked tokens (403 without a body), header checks on business calls,
404/405, fault injection, the request log, determinism, and mounting under a prefix."""

from __future__ import annotations

import asyncio
from datetime import date, timedelta

import httpx2
import pytest
from starlette.applications import Starlette
from starlette.routing import Mount

from app.config import SANDBOX_APP_KEY, SANDBOX_ENTERPRISE_ID
from app.sandbox.app import SandboxConfig, create_sandbox_app
from tests.contract.checker import check_recorded
from tests.contract.plugin import SandboxServer
from tests.sandbox.conftest import fetch_token
from tests.sandbox.test_reservations import RSV, booking
from tests.support.servers import serve

TOKEN = "/oauth/v1/tokens"
BD = date(2026, 5, 1)


async def token_call(
    url: str,
    *,
    data: dict[str, str],
    auth: tuple[str, str] | None = ("sandbox-client", "sandbox-secret"),
    headers: dict[str, str] | None = None,
) -> httpx2.Response:
    async with httpx2.AsyncClient(base_url=url) as client:
        return await client.post(
            TOKEN, data=data, auth=auth, headers=dict(DEMO_HEADERS) if headers is None else headers
        )


CC = {"grant_type": "client_credentials", "scope": "urn:opc:hgbu:ws:__myscopes__"}
DEMO_HEADERS = {"x-app-key": SANDBOX_APP_KEY, "enterpriseId": SANDBOX_ENTERPRISE_ID}


async def test_token_grants_for_client_credentials_and_password(sandbox_server: SandboxServer) -> None:
    r = await token_call(sandbox_server.url, data=CC)
    assert r.status_code == 200
    body = r.json()
    assert body["token_type"] == "Bearer" and body["expires_in"] == 3600 and body["access_token"]
    pw = await token_call(
        sandbox_server.url, data={"grant_type": "password", "username": "sandbox-user", "password": "sandbox-password"}
    )
    assert pw.status_code == 200
    assert pw.json()["access_token"] != body["access_token"]
    assert sandbox_server.sandbox.token_requests == 2


@pytest.mark.parametrize(
    ("data", "auth", "headers", "status", "needle"),
    [
        (CC, ("sandbox-client", "wrong"), None, 401, "client"),
        (CC, None, None, 401, "Basic"),
        (CC, ("sandbox-client", "sandbox-secret"), {"x-app-key": "not-a-uuid"}, 400, "UUID"),
        (CC, ("sandbox-client", "sandbox-secret"), {}, 400, "x-app-key"),
        (
            CC,
            ("sandbox-client", "sandbox-secret"),
            {"x-app-key": "11111111-2222-4333-8444-555555555555"},
            401,
            "not registered",
        ),
        (
            CC,
            ("sandbox-client", "sandbox-secret"),
            {"x-app-key": SANDBOX_APP_KEY, "enterpriseId": "bad-id!"},
            400,
            "enterpriseId",
        ),
        (CC, ("sandbox-client", "sandbox-secret"), {"x-app-key": SANDBOX_APP_KEY}, 400, "enterpriseId"),
        (
            CC,
            ("sandbox-client", "sandbox-secret"),
            {"x-app-key": SANDBOX_APP_KEY, "enterpriseId": "OTHER1"},
            401,
            "enterpriseId",
        ),
        ({"grant_type": "authorization_code"}, ("sandbox-client", "sandbox-secret"), None, 400, "grant_type"),
        ({"grant_type": "client_credentials"}, ("sandbox-client", "sandbox-secret"), None, 400, "scope"),
        (
            {"grant_type": "password", "username": "someone-else", "password": "sandbox-password"},
            ("sandbox-client", "sandbox-secret"),
            None,
            401,
            "integration user",
        ),
    ],
)
async def test_token_refusals(
    sandbox_server: SandboxServer,
    data: dict[str, str],
    auth: tuple[str, str] | None,
    headers: dict[str, str] | None,
    status: int,
    needle: str,
) -> None:
    r = await token_call(sandbox_server.url, data=data, auth=auth, headers=headers)
    assert r.status_code == status
    if status == 401 and not needle:
        assert r.content == b""
    else:
        assert needle.lower() in r.json()["detail"].lower()


async def test_a_password_grant_needs_no_enterprise_id(sandbox_server: SandboxServer) -> None:
    grant = {"grant_type": "password", "username": "sandbox-user", "password": "sandbox-password"}
    assert (await token_call(sandbox_server.url, data=grant, headers={"x-app-key": SANDBOX_APP_KEY})).status_code == 200


async def test_a_wrong_integration_password_answers_402_invalid_grant_as_oracle_documents() -> None:
    # oauth.json declares 400/401/403 only; Oracle's common error messages list 402 invalid_grant "[Wrong Password]"
    # for the token call. The contract check would call that undeclared, so this sandbox is served here.
    with serve(create_sandbox_app(SandboxConfig(business_date=BD))) as server:
        grant = {"grant_type": "password", "username": "sandbox-user", "password": "nope"}
        r = await token_call(server.url, data=grant)
    assert r.status_code == 402
    assert r.json() == {"error": "invalid_grant", "error_description": "[Wrong Password]"}
    assert "access_token" not in r.text


@pytest.mark.sandbox(token_ttl=1)
async def test_token_expires_after_its_ttl(ohip: httpx2.AsyncClient) -> None:
    assert (await ohip.get(f"{RSV}?limit=1")).status_code == 200
    await asyncio.sleep(1.3)
    r = await ohip.get(f"{RSV}?limit=1")
    # Oracle's common error messages: 401 Unauthorized, "No response body"
    assert r.status_code == 401 and r.content == b""


async def test_expire_endpoint_invalidates_issued_tokens(ohip: httpx2.AsyncClient) -> None:
    assert (await ohip.post("/_sandbox/tokens/expire")).json()["expired"] == 1
    assert (await ohip.get(f"{RSV}?limit=1")).status_code == 401


async def test_a_revoked_token_answers_403_with_no_body_like_ohips_gateway(
    ohip: httpx2.AsyncClient, sandbox_server: SandboxServer
) -> None:
    assert (await ohip.post("/_sandbox/tokens/revoke")).json()["revoked"] == 1
    r = await ohip.get(f"{RSV}?limit=1")
    assert r.status_code == 403 and r.content == b""
    # A fresh token works again; a hotel this credential may not see is still a 403 that explains itself.
    ohip.headers["Authorization"] = f"Bearer {await fetch_token(ohip)}"
    assert (await ohip.get(f"{RSV}?limit=1")).status_code == 200
    refused = await ohip.get(f"{RSV}?limit=1", headers={"x-hotelid": "NOPE01"})
    assert refused.status_code == 403 and "NOPE01" in refused.json()["detail"]
    assert (await ohip.post("/_sandbox/tokens/revoke")).json()["revoked"] == 1
    token = ohip.headers["Authorization"].split()[1]
    assert sandbox_server.sandbox.tokens.is_revoked(token)
    sandbox_server.sandbox.reset()  # the reset forgets revocations with the tokens
    assert not sandbox_server.sandbox.tokens.is_revoked(token)


@pytest.mark.parametrize(
    ("drop", "extra", "status", "needle"),
    [
        ("authorization", {}, 401, ""),  # real OHIP: 401 with no body
        (None, {"Authorization": "Bearer forged"}, 401, ""),
        ("x-app-key", {}, 400, "x-app-key"),
        (None, {"x-app-key": "11111111-2222-4333-8444-555555555555"}, 401, "not registered"),
        ("x-hotelid", {}, 400, "x-hotelid"),
        (None, {"x-hotelid": "NOPE01"}, 403, "NOPE01"),
    ],
)
async def test_business_calls_check_token_and_headers(
    ohip: httpx2.AsyncClient, drop: str | None, extra: dict[str, str], status: int, needle: str
) -> None:
    headers = dict(ohip.headers)
    if drop:
        headers = {k: v for k, v in headers.items() if k.lower() != drop}
    headers.update({k.lower(): v for k, v in extra.items()})
    async with httpx2.AsyncClient(base_url=str(ohip.base_url)) as client:
        r = await client.get(f"{RSV}?limit=1", headers=headers)
    assert r.status_code == status
    if status == 401 and not needle:
        assert r.content == b""
    else:
        assert needle.lower() in r.json()["detail"].lower()


async def test_header_names_are_case_insensitive(ohip: httpx2.AsyncClient) -> None:
    headers = {k: v for k, v in ohip.headers.items() if k.lower() != "x-hotelid"}
    headers["X-HotelId"] = "SAND01"
    async with httpx2.AsyncClient(base_url=str(ohip.base_url)) as client:
        assert (await client.get(f"{RSV}?limit=1", headers=headers)).status_code == 200


async def test_unknown_hotel_in_path_unknown_path_and_wrong_method(ohip: httpx2.AsyncClient) -> None:
    hotel = await ohip.get("/rsv/v1/hotels/NOPE01/reservations")
    assert hotel.status_code == 404 and hotel.json()["o:errorCode"] == "OHIPSIM-HOTEL-404"
    path = await ohip.get("/rsv/v1/hotels/SAND01/nothingHere")
    assert path.status_code == 404 and path.json()["o:errorCode"] == "OHIPSIM-GW-404"
    method = await ohip.delete(f"{RSV}/100001")
    assert method.status_code == 405 and method.json()["title"] == "Method Not Allowed"


async def test_request_id_is_echoed_and_ecid_added(ohip: httpx2.AsyncClient) -> None:
    r = await ohip.get(f"{RSV}?limit=1", headers={"x-request-id": "3f2b8c1e-1111-4222-8333-444455556666"})
    assert r.headers["x-request-id"] == "3f2b8c1e-1111-4222-8333-444455556666"
    assert r.headers["x-oracle-dms-ecid"]


async def test_search_limit_over_200_is_refused(ohip: httpx2.AsyncClient) -> None:
    r = await ohip.get(RSV, params={"limit": 201})
    assert r.status_code == 400 and "at most 200" in r.json()["detail"]


async def test_faults_503_twice_then_normal(ohip: httpx2.AsyncClient, sandbox_server: SandboxServer) -> None:
    sandbox_server.sandbox.faults.inject(operation="getHotelReservations", status=503, times=2)
    statuses = [(await ohip.get(f"{RSV}?limit=1")).status_code for _ in range(3)]
    assert statuses == [503, 503, 200]


async def test_fault_429_carries_retry_after(ohip: httpx2.AsyncClient) -> None:
    added = await ohip.post(
        "/_sandbox/faults", json={"operation": "getReservation", "status": 429, "headers": {"Retry-After": "1"}}
    )
    assert added.status_code == 201
    r = await ohip.get(f"{RSV}/100001")
    assert r.status_code == 429 and r.headers["Retry-After"] == "1"


async def test_dropped_response_still_changes_state(ohip: httpx2.AsyncClient, sandbox_server: SandboxServer) -> None:
    sandbox_server.sandbox.faults.inject(operation="postReservation", mode="drop")
    hotel = sandbox_server.sandbox.enterprise.hotels["SAND01"]
    before = len(hotel.reservations)
    arrival = BD + timedelta(days=6)
    with pytest.raises(httpx2.RemoteProtocolError):
        await ohip.post(RSV, json=booking(arrival, arrival + timedelta(days=1)))
    assert len(hotel.reservations) == before + 1


async def test_a_replaced_answer_changes_state_behind_the_gateway_error(
    ohip: httpx2.AsyncClient, sandbox_server: SandboxServer,
) -> None:
    sandbox_server.sandbox.faults.inject(operation="postReservation", mode="replace", status=503)
    hotel = sandbox_server.sandbox.enterprise.hotels["SAND01"]
    before = len(hotel.reservations)
    arrival = BD + timedelta(days=6)
    answer = await ohip.post(RSV, json=booking(arrival, arrival + timedelta(days=1)))
    assert answer.status_code == 503 and answer.json()["title"] == "Service Unavailable"
    assert "location" not in answer.headers
    assert len(hotel.reservations) == before + 1


async def test_recorder_masks_credentials_and_tells_tokens_apart(
    ohip: httpx2.AsyncClient, sandbox_server: SandboxServer
) -> None:
    await ohip.get(f"{RSV}?limit=1", headers={"traceparent": "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01"})
    log = sandbox_server.sandbox.requests
    token_exchange, search = log[0], log[-1]
    assert token_exchange.operation_id == "getToken" and token_exchange.headers["authorization"] == "Basic ***"
    assert "sandbox-secret" not in repr(token_exchange)
    assert token_exchange.response["access_token"].startswith("***")
    assert search.operation_id == "getHotelReservations" and search.module == "rsv"
    assert search.headers["authorization"] == "Bearer ***" and search.token_hash
    assert search.traceparent and search.traceparent.startswith("00-0af7")
    assert sandbox_server.sandbox.connection_count() >= 1
    stats = (await ohip.get("/_sandbox/stats")).json()
    assert stats["token_requests"] == 1 and stats["requests"] == len(log)


def test_same_seed_same_world_other_seed_other_world() -> None:
    def world(seed: int) -> list[tuple[str, str, str, str]]:
        sandbox = create_sandbox_app(SandboxConfig(seed=seed, business_date=BD)).state.sandbox
        hotel = sandbox.enterprise.hotels["SAND01"]
        return [
            (r.reservation_id, r.profile_id, r.room_type, r.arrival.isoformat()) for r in hotel.reservations.values()
        ]

    assert world(7) == world(7)
    assert world(7) != world(8)


async def test_works_mounted_under_a_prefix_with_correct_location() -> None:
    sandbox_app = create_sandbox_app(SandboxConfig(business_date=BD))
    parent = Starlette(routes=[Mount("/sandbox", app=sandbox_app)])
    with serve(parent) as server:
        async with httpx2.AsyncClient(base_url=server.url + "/sandbox") as client:
            token = await fetch_token(client)
            client.headers.update(
                {"Authorization": f"Bearer {token}", "x-app-key": SANDBOX_APP_KEY, "x-hotelid": "SAND01"}
            )
            arrival = BD + timedelta(days=2)
            r = await client.post(RSV, json=booking(arrival, arrival + timedelta(days=1)))
            assert r.status_code == 201, r.text
            assert r.headers["Location"].startswith(f"{server.url}/sandbox{RSV}/")
            assert (await client.get(r.headers["Location"])).status_code == 200
    sandbox = sandbox_app.state.sandbox
    assert all(not e.path.startswith("/sandbox") for e in sandbox.requests)
    assert check_recorded(sandbox) == []


async def test_stalled_response_arrives_late_but_whole(ohip: httpx2.AsyncClient, sandbox_server: SandboxServer) -> None:
    sandbox_server.sandbox.faults.inject(operation="getHotelReservations", mode="stall", delay=0.5)
    loop = asyncio.get_running_loop()
    started = loop.time()
    r = await ohip.get(f"{RSV}?limit=1")
    assert r.status_code == 200 and r.json()["reservations"]["count"] == 1
    assert loop.time() - started >= 0.5
    assert sandbox_server.sandbox.faults.pending() == []


def test_the_request_log_keeps_no_full_card_number() -> None:
    from app.sandbox.recorder import mask_card_fields

    body = {"criteria": {"paymentMethod": {"paymentCard": {"cardNumber": "4111111111111111", "cvv": "123"}}}}
    masked = mask_card_fields(body)
    card = masked["criteria"]["paymentMethod"]["paymentCard"]
    assert card["cardNumber"] == "XXXXXXXXXXXX1111" and card["cvv"] == "***"


async def test_refusals_come_in_the_shape_real_ohip_sends(ohip: httpx2.AsyncClient) -> None:
    """Not the spec's ideal exceptionDetailType but what OHIP really answers (Oracle's issues #92 and #62): the reason
    phrase as `type`, "NotProcessed" as `status`, and `language`; a client reading the integer status would break."""
    r = await ohip.get(f"{RSV}?limit=5000")
    assert r.status_code == 400
    error = r.json()
    assert error["type"] == "Bad Request" and error["status"] == "NotProcessed" and error["language"] == "en"
    assert "limit" in error["detail"] and error["o:errorCode"].startswith("OHIPSIM") and "instance" not in error
    missing = await ohip.get(f"{RSV}/999999")
    assert missing.status_code == 404 and missing.json()["type"] == "Not Found"
