"""Key lines, the new-api-key command and start-up refusals: what an operator sees when configuring auth."""

from __future__ import annotations

import logging

import pytest

from app.cli import main
from app.config import ConfigError, load_settings
from app.security.api_keys import ApiKeyConfigError, ApiKeyRing, key_digest, parse_line
from app.security.layer import SecurityLayer, startup_refusal
from app.telemetry.metrics import Metrics


def test_new_api_key_prints_a_key_and_a_line_that_admits_exactly_it(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["new-api-key", "--name", "night-audit", "--scopes", "read,billing", "--hotels", "SAND01,sand02"]) == 0
    out = capsys.readouterr().out.splitlines()
    key, line = out[1].strip(), out[3].strip()
    assert key.startswith("omcp_") and key not in line
    ring = ApiKeyRing.load(None, line)
    principal = ring.verify(key)
    assert principal is not None and principal.name == "night-audit"
    assert principal.scopes == {"opera:read", "opera:billing"}
    assert principal.hotels == {"SAND01", "SAND02"}
    assert ring.verify(key + "x") is None and ring.verify("") is None


@pytest.mark.parametrize(("line", "problem"), [
    ("bob:abc:opera:read:SAND01", "SHA-256"),
    (f"bob:{'0' * 64}:opera:admin:SAND01", "unknown scope"),
    (f"bob:{'0' * 64}:opera:read:SAND/01", "hotel"),
    (f"bob:{'0' * 64}:opera:read", "hotels"),
    (f"b b:{'0' * 64}:opera:read:*", "name"),
])
def test_malformed_key_lines_are_refused_with_the_reason(line: str, problem: str) -> None:
    with pytest.raises(ApiKeyConfigError, match=problem):
        parse_line(line)


def test_key_lines_keep_no_key_material_and_duplicates_are_refused() -> None:
    digest = key_digest("omcp_example").hex()
    entry = parse_line(f"desk:{digest}:opera:read,opera:write:*")
    assert entry.hotels == {"*"} and entry.principal().may_use_hotel("ANY1")
    with pytest.raises(ApiKeyConfigError, match="twice"):
        ApiKeyRing.load(None, f"desk:{digest}:read:*;desk:{'1' * 64}:read:*")


def test_auth_settings_that_cannot_work_refuse_to_start() -> None:
    assert startup_refusal(load_settings(mcp_auth="api_key")) is not None
    assert "JWKS" in (startup_refusal(load_settings(mcp_auth="oauth", mcp_oauth_issuer="https://as.example",
                                                    mcp_oauth_audience="x")) or "")
    hs = load_settings(mcp_auth="oauth", mcp_oauth_issuer="https://as.example", mcp_oauth_audience="x",
                       mcp_oauth_jwks_url="https://as.example/jwks", mcp_oauth_algorithms="HS256")
    assert "HS256" in (startup_refusal(hs) or "")
    with pytest.raises(ConfigError):
        SecurityLayer(hs, Metrics())
    assert startup_refusal(load_settings(host="0.0.0.0", allow_unauthenticated=True)) is None
    assert startup_refusal(load_settings()) is None


def test_allowing_unauthenticated_on_a_public_bind_warns_at_start(caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.WARNING, logger="app.security.layer"):
        SecurityLayer(load_settings(host="0.0.0.0", allow_unauthenticated=True), Metrics())
    assert any("WITHOUT AUTHENTICATION" in r.getMessage() for r in caplog.records)
