"""server.json (the MCP Registry's description of this server) is valid against the registry's published schema,
committed under tests/contract/mcp_registry/ so this runs offline, and says what the code says: one version, the
server's own title and description, settings that exist, and the auth header the server reads."""

from __future__ import annotations

import copy
import json
import tomllib
from pathlib import Path
from typing import Any

import pytest
from jsonschema import Draft7Validator, FormatChecker

from app import __version__
from app.config import Settings
from app.server import SERVER_DESCRIPTION, SERVER_TITLE

ROOT = Path(__file__).resolve().parents[2]
SCHEMA = json.loads((ROOT / "tests" / "contract" / "mcp_registry" / "server.schema.json").read_text())
SERVER_JSON: dict[str, Any] = json.loads((ROOT / "server.json").read_text())
VALIDATOR = Draft7Validator(SCHEMA, format_checker=FormatChecker())


def errors(document: dict[str, Any]) -> list[str]:
    return [f"{'/'.join(map(str, e.absolute_path))}: {e.message}" for e in VALIDATOR.iter_errors(document)]


def test_server_json_is_valid_against_the_registry_schema_it_names() -> None:
    assert SERVER_JSON["$schema"] == SCHEMA["$id"]
    assert errors(SERVER_JSON) == []


def test_one_version_everywhere() -> None:
    pyproject = tomllib.loads((ROOT / "pyproject.toml").read_text())
    assert SERVER_JSON["version"] == __version__ == pyproject["project"]["version"]
    pypi = [p for p in SERVER_JSON["packages"] if p["registryType"] == "pypi"]
    oci = [p for p in SERVER_JSON["packages"] if p["registryType"] == "oci"]
    assert pypi and oci
    assert all(p["identifier"] == pyproject["project"]["name"] and p["version"] == __version__ for p in pypi)
    assert all(p["identifier"].endswith(f":{__version__}") for p in oci)


def test_title_and_description_are_the_servers_own() -> None:
    assert SERVER_JSON["title"] == SERVER_TITLE
    assert SERVER_JSON["description"] == SERVER_DESCRIPTION


def test_environment_variables_are_real_settings() -> None:
    names = {v["name"] for p in SERVER_JSON["packages"] for v in p.get("environmentVariables", [])}
    assert names
    unknown = [n for n in names if not n.startswith("OPERA_") or n[6:].lower() not in Settings.model_fields]
    assert not unknown, f"server.json names settings that do not exist: {unknown}"
    secret = {v["name"] for p in SERVER_JSON["packages"] for v in p.get("environmentVariables", [])
              if v.get("isSecret")}
    assert {"OPERA_CLIENT_SECRET", "OPERA_APP_KEY"} <= secret


def test_the_remote_describes_the_bearer_header_as_a_secret() -> None:
    [remote] = SERVER_JSON["remotes"]
    assert remote["type"] == "streamable-http" and remote["url"].endswith("/mcp")
    [header] = remote["headers"]
    assert header["name"] == "Authorization" and header["value"].startswith("Bearer {")
    assert header["isSecret"] is True


def _mutant(path: list[Any], value: Any) -> dict[str, Any]:
    document = copy.deepcopy(SERVER_JSON)
    target: Any = document
    for key in path[:-1]:
        target = target[key]
    target[path[-1]] = value
    return document


@pytest.mark.parametrize(("path", "value"), [
    (["description"], "x" * 101),
    (["name"], "opera-cloud-mcp"),
    (["packages", 0, "version"], "latest"),
    (["packages", 0, "packageArguments", 0], {"type": "positional"}),
    (["remotes", 0, "url"], "https://mcp host/mcp"),
    (["packages", 1, "transport"], {"type": "carrier-pigeon"}),
])
def test_the_schema_copy_refuses_what_the_registry_refuses(path: list[Any], value: Any) -> None:
    assert errors(_mutant(path, value))
