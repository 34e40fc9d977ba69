"""Attack table, OAuth rows: JWT access tokens from an external authorization server, verified against a JWKS
served on loopback with keys made in the test."""

from __future__ import annotations

import base64
import json
import time

import httpx2
import jwt
from cryptography.hazmat.primitives import serialization

from tests.security.conftest import AUDIENCE, ISSUER, MCP_HEADERS, JWKSServer, SigningKey, rpc, tool_names


def oauth_app(start_app, jwks: JWKSServer, **overrides: object):
    return start_app(mcp_auth="oauth", mcp_oauth_issuer=ISSUER, mcp_oauth_audience=AUDIENCE,
                     mcp_oauth_jwks_url=jwks.url, mcp_oauth_algorithms="RS256", **overrides)


def tools_list(url: str, token: str | None) -> httpx2.Response:
    headers = {**MCP_HEADERS, **({"Authorization": f"Bearer {token}"} if token is not None else {})}
    return httpx2.post(f"{url}/mcp", json=rpc("tools/list"), headers=headers, timeout=30)


def unsigned(header: dict[str, object], payload: dict[str, object]) -> str:
    def part(value: dict[str, object]) -> str:
        return base64.urlsafe_b64encode(json.dumps(value).encode()).rstrip(b"=").decode()

    return f"{part(header)}.{part(payload)}."


def claims(**overrides: object) -> dict[str, object]:
    now = int(time.time())
    base: dict[str, object] = {"iss": ISSUER, "aud": AUDIENCE, "sub": "agent-7", "exp": now + 600, "nbf": now,
                               "scope": "opera:read", "hotels": ["SAND01"]}
    base.update(overrides)
    return base


def test_missing_token_points_to_the_protected_resource_metadata(start_app, jwks_server: JWKSServer) -> None:
    app = oauth_app(start_app, jwks_server)
    response = tools_list(app.url, None)
    assert response.status_code == 401
    challenge = response.headers["www-authenticate"]
    assert challenge.startswith("Bearer ") and "resource_metadata=" in challenge
    metadata_url = challenge.split('resource_metadata="')[1].split('"')[0]
    assert metadata_url.endswith("/.well-known/oauth-protected-resource/mcp")
    metadata = httpx2.get(metadata_url).json()
    assert metadata["authorization_servers"] == [ISSUER]
    assert metadata["resource"].endswith("/mcp")
    assert set(metadata["scopes_supported"]) == {"opera:read", "opera:write", "opera:billing"}


def test_a_valid_token_is_accepted(start_app, jwks_server: JWKSServer) -> None:
    app = oauth_app(start_app, jwks_server)
    response = tools_list(app.url, jwks_server.token(scopes="opera:read"))
    assert response.status_code == 200, response.text
    names = tool_names(response)
    assert "search_reservations" in names
    assert "create_reservation" not in names  # a read-only token sees only read tools


def test_expired_wrong_audience_and_wrong_issuer_tokens_are_refused(start_app, jwks_server: JWKSServer) -> None:
    app = oauth_app(start_app, jwks_server)
    now = int(time.time())
    cases = {
        "expired": jwks_server.token(iat=now - 3600, nbf=now - 3600, exp=now - 600),
        "wrong_audience": jwks_server.token(aud="https://other-service.example/mcp"),
        "wrong_issuer": jwks_server.token(iss="https://evil-issuer.example"),
        "not_yet_valid": jwks_server.token(nbf=now + 3600),
    }
    for reason, token in cases.items():
        response = tools_list(app.url, token)
        assert response.status_code == 401, reason
        assert 'error="invalid_token"' in response.headers["www-authenticate"]
        assert app.metric("opera_mcp_auth_failures_total", reason=reason) == 1, reason
    assert [e["reason"] for e in app.audit_events()] == list(cases)


def test_alg_none_and_hs256_signed_with_the_public_key_are_refused(start_app, jwks_server: JWKSServer) -> None:
    app = oauth_app(start_app, jwks_server)
    none_token = unsigned({"alg": "none", "typ": "JWT", "kid": "key-1"}, claims(scope="opera:billing"))
    assert tools_list(app.url, none_token).status_code == 401
    public_pem = jwks_server.keys[0].private.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
    # The classic confusion attack: HMAC keyed with the (public) RSA key. Forged by hand, since PyJWT refuses to.
    import hashlib
    import hmac

    header = {"alg": "HS256", "typ": "JWT", "kid": "key-1"}
    signing_input = unsigned(header, claims(scope="opera:billing"))[:-1]
    signature = hmac.new(public_pem, signing_input.encode(), hashlib.sha256).digest()
    forged = signing_input + "." + base64.urlsafe_b64encode(signature).rstrip(b"=").decode()
    assert tools_list(app.url, forged).status_code == 401
    assert app.metric("opera_mcp_auth_failures_total", reason="bad_algorithm") == 2


def test_an_unknown_kid_causes_one_jwks_refetch_then_401(start_app, jwks_server: JWKSServer) -> None:
    app = oauth_app(start_app, jwks_server)
    assert tools_list(app.url, jwks_server.token()).status_code == 200
    fetches = jwks_server.fetches
    stranger = SigningKey("never-published")
    assert tools_list(app.url, jwks_server.token(stranger)).status_code == 401
    assert jwks_server.fetches == fetches + 1
    # A flood of forged kids does not hammer the issuer: the refetch has a cooldown.
    for _ in range(5):
        assert tools_list(app.url, jwks_server.token(SigningKey("forged"))).status_code == 401
    assert jwks_server.fetches == fetches + 1
    assert app.metric("opera_mcp_auth_failures_total", reason="unknown_kid") == 6


def test_a_key_rotated_at_the_jwks_is_accepted_without_restart(start_app, jwks_server: JWKSServer) -> None:
    app = oauth_app(start_app, jwks_server)
    assert tools_list(app.url, jwks_server.token()).status_code == 200
    new_key = SigningKey("key-2")
    jwks_server.keys = [new_key]  # the authorization server rotates: old key withdrawn, new key published
    assert tools_list(app.url, jwks_server.token(new_key)).status_code == 200
    assert tools_list(app.url, jwks_server.token(new_key)).status_code == 200


def test_a_token_without_any_opera_scope_gets_403_insufficient_scope(start_app, jwks_server: JWKSServer) -> None:
    app = oauth_app(start_app, jwks_server)
    response = tools_list(app.url, jwks_server.token(scopes="profile email"))
    assert response.status_code == 403
    assert 'error="insufficient_scope"' in response.headers["www-authenticate"]
    assert app.metric("opera_mcp_auth_failures_total", reason="insufficient_scope") == 1


def test_scopes_may_come_as_an_scp_list(start_app, jwks_server: JWKSServer) -> None:
    app = oauth_app(start_app, jwks_server)
    token = jwt.encode(claims(scope=None, scp=["opera:read", "opera:write"]), jwks_server.keys[0].private,
                       algorithm="RS256", headers={"kid": "key-1"})
    response = tools_list(app.url, token)
    assert response.status_code == 200
    names = tool_names(response)
    assert "create_reservation" in names and "post_payment" not in names
