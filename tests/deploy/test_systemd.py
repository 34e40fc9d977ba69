"""Direct deployment on a host: the systemd unit passes `systemd-analyze verify` (and that check does catch a bad
directive), waits longer than the server's drain, keeps its writable paths where the example environment puts the
token cache and the audit trail, runs hardened and sized like the containers, logs to journald; the example
environment is a valid configuration with no secret in it; the logrotate configuration passes `logrotate -d`
and never truncates."""

from __future__ import annotations

import asyncio
import os
import re
import signal
import subprocess
import sys
from pathlib import Path
from typing import Any

import httpx2
import pytest
from mcp import Client
from mcp.client.streamable_http import streamable_http_client

from app.config import Settings
from app.ops.backup import secret_fields
from app.security.api_keys import new_api_key
from tests.deploy.conftest import REPO
from tests.deploy.test_assets import env_file, only, settings_from, with_real_key
from tests.deploy.test_scale_out import MARGIN_S, drain_bound
from tests.support.debian import debian_tool
from tests.support.fleet import Process, replica_env, standalone_sandbox
from tests.support.servers import free_port

SYSTEMD = REPO / "deploy" / "systemd"
UNIT = SYSTEMD / "opera-cloud-mcp.service"
ENV_EXAMPLE = SYSTEMD / "opera-cloud-mcp.env.example"
LOGROTATE = SYSTEMD / "opera-cloud-mcp.logrotate"
#: Where the install steps (docs/operations.md "Direct deployment") clone the repository and `uv sync` it.
INSTALL_DIR = "/opt/opera-cloud-mcp"


def unit_directives(text: str) -> dict[str, list[str]]:
    """`Section.Key` -> every value given (systemd allows a key several times), comments dropped."""
    out: dict[str, list[str]] = {}
    section = ""
    for raw in text.splitlines():
        line = raw.strip()
        if not line or line.startswith(("#", ";")):
            continue
        if line.startswith("["):
            section = line.strip("[]")
            continue
        key, _, value = line.partition("=")
        out.setdefault(f"{section}.{key.strip()}", []).append(value.strip())
    return out


UNIT_TEXT = UNIT.read_text()
DIRECTIVES = unit_directives(UNIT_TEXT)


def one(key: str) -> str:
    values = DIRECTIVES.get(f"Service.{key}") or DIRECTIVES.get(key)
    assert values and len(values) == 1, f"{key}: expected one value, found {values}"
    return values[0]


def unit_environment() -> dict[str, str]:
    """The service's environment: its EnvironmentFile (the example), then Environment= lines."""
    env = dict(env_file(ENV_EXAMPLE))
    for line in DIRECTIVES.get("Service.Environment", []):
        env.update(pair.split("=", 1) for pair in line.split())
    return env


@pytest.fixture(scope="module")
def systemd_analyze() -> str:
    return debian_tool("systemd-analyze", "systemd")


def verify(systemd_analyze: str, unit_text: str, directory: Path) -> subprocess.CompletedProcess[str]:
    """`systemd-analyze verify` of the unit as installed from this checkout: the install directory replaced by the
    checkout, whose .venv/bin/opera-cloud-mcp `uv sync --frozen` made (verify checks that ExecStart exists). It
    needs no running systemd."""
    unit = directory / UNIT.name
    unit.write_text(unit_text.replace(INSTALL_DIR, str(REPO)))
    return subprocess.run([systemd_analyze, "verify", "--man=no", str(unit)], capture_output=True, text=True,
                          check=False, timeout=60)


def test_the_unit_passes_systemd_analyze_verify_with_nothing_to_say(systemd_analyze: str, tmp_path: Path) -> None:
    assert (REPO / ".venv" / "bin" / "opera-cloud-mcp").exists(), "run `uv sync --frozen` first"
    done = verify(systemd_analyze, UNIT_TEXT, tmp_path)
    assert done.returncode == 0 and not done.stdout.strip() and not done.stderr.strip(), done.stdout + done.stderr


@pytest.mark.parametrize(("directive", "broken", "said"), [
    ("ProtectHome=yes", "ProtectHom=yes", "Unknown key 'ProtectHom'"),
    ("MemoryMax=512M", "MemoryMax=lots", "Invalid memory limit 'lots'"),
])
def test_verify_reports_a_misspelt_directive_or_a_bad_value(
    systemd_analyze: str, tmp_path: Path, directive: str, broken: str, said: str
) -> None:
    """systemd ignores a directive it cannot read, and verify still exits 0: so the check (here and in
    .ci/deploy-checks.sh) fails on any output, which there is."""
    assert directive in UNIT_TEXT
    done = verify(systemd_analyze, UNIT_TEXT.replace(directive, broken), tmp_path)
    assert said in done.stdout + done.stderr


def test_the_stop_timeout_covers_shutdown_delay_and_drain(monkeypatch: pytest.MonkeyPatch) -> None:
    env = with_real_key(unit_environment())
    settings = settings_from(env, monkeypatch)
    needed = settings.shutdown_delay + drain_bound(env, settings) + MARGIN_S
    assert one("KillSignal") == "SIGTERM"
    assert float(one("TimeoutStopSec")) >= needed, f"systemd would SIGKILL in-flight calls (< {needed} s)"


def test_the_writable_paths_are_where_the_environment_puts_token_cache_and_audit(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    settings: Settings = settings_from(with_real_key(unit_environment()), monkeypatch)
    state = [Path("/var/lib", d) for d in one("StateDirectory").split()]
    logs = [Path("/var/log", d) for d in one("LogsDirectory").split()]
    assert settings.enable_persistent_token_cache
    assert settings.token_cache_dir == Path("/var/lib/opera-cloud-mcp/cache") in state  # as the guide says
    assert settings.audit_log is not None and settings.audit_log.parent in logs
    assert one("StateDirectoryMode") == "0700" and one("UMask") == "0077"
    assert one("ProtectSystem") == "strict"  # so nothing else is writable
    assert one("EnvironmentFile") == "/etc/opera-cloud-mcp/opera-cloud-mcp.env"
    assert one("ExecStart") == f"{INSTALL_DIR}/.venv/bin/opera-cloud-mcp serve"
    assert one("WorkingDirectory") == INSTALL_DIR


def test_the_service_is_hardened_restarted_on_failure_and_logs_to_the_journal() -> None:
    expected = {"User": "opera-cloud-mcp", "NoNewPrivileges": "yes", "PrivateTmp": "yes", "ProtectHome": "yes",
                "CapabilityBoundingSet": "", "AmbientCapabilities": "", "RestrictSUIDSGID": "yes",
                "Restart": "on-failure", "StandardOutput": "journal", "StandardError": "journal",
                "SyslogIdentifier": "opera-cloud-mcp", "ExecReload": "/bin/kill -HUP $MAINPID"}
    assert {key: one(key) for key in expected} == expected
    assert DIRECTIVES["Install.WantedBy"] == ["multi-user.target"]
    # /proc/stat hidden (ProcSubset=pid) leaves prometheus_client without process metrics, silently.
    assert "Service.ProcSubset" not in DIRECTIVES


def test_memory_limit_is_the_containers(rendered: dict[str, list[dict[str, Any]]]) -> None:
    pod = only(rendered["production"], "Deployment")["spec"]["template"]["spec"]
    limit = pod["containers"][0]["resources"]["limits"]["memory"]
    assert re.fullmatch(r"(\d+)Mi", limit) and one("MemoryMax") == limit.removesuffix("Mi") + "M"
    assert int(one("MemoryHigh").removesuffix("M")) < int(one("MemoryMax").removesuffix("M"))


def test_the_example_environment_holds_no_secret_and_is_a_valid_configuration(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    env = env_file(ENV_EXAMPLE)
    for field in secret_fields():
        name = "OPERA_" + field.upper()
        assert env.get(name, "REPLACE_ME") == "REPLACE_ME", f"{name} has a value in the example"
    assert all(" " not in v and '"' not in v for v in env.values()), "systemd's EnvironmentFile takes no quoting"
    settings = settings_from(with_real_key(env), monkeypatch)
    assert settings.mode == "ohip" and settings.mcp_auth == "api_key"


@pytest.fixture(scope="module")
def logrotate() -> str:
    return debian_tool("logrotate", "logrotate")


def test_logrotate_reads_the_shipped_config_without_an_error(logrotate: str, tmp_path: Path) -> None:
    done = subprocess.run([logrotate, "-d", "-s", str(tmp_path / "state"), str(LOGROTATE)], capture_output=True,
                          text=True, check=False, timeout=60)
    output = done.stdout + done.stderr
    assert done.returncode == 0 and "error" not in output.lower(), output
    assert "/var/log/opera-cloud-mcp/*.jsonl" in output
    broken = tmp_path / "broken.logrotate"
    broken.write_text(LOGROTATE.read_text().replace("delaycompress", "delaycompres"))
    done = subprocess.run([logrotate, "-d", "-s", str(tmp_path / "state"), str(broken)], capture_output=True,
                          text=True, check=False, timeout=60)
    assert "error" in (done.stdout + done.stderr).lower(), "logrotate -d would not notice a misspelt directive"


def test_logrotate_never_truncates_and_signals_the_service() -> None:
    directives = [line.split()[0] for line in LOGROTATE.read_text().splitlines()
                  if line.strip() and not line.lstrip().startswith("#")]
    assert "copytruncate" not in directives and "nocreate" in directives and "delaycompress" in directives
    assert "systemctl kill --signal=HUP --kill-whom=main opera-cloud-mcp.service" in LOGROTATE.read_text()
    assert f"{Path(env_file(ENV_EXAMPLE)['OPERA_AUDIT_LOG']).parent}/*.jsonl" in LOGROTATE.read_text()


def syscall_set(systemd_analyze: str, filters: list[str]) -> set[str]:
    """The system calls the groups and names of SystemCallFilter= values stand for (nested groups expanded)."""
    names: set[str] = set()
    for item in filters:
        if not item.startswith("@"):
            names.add(item)
            continue
        listed = subprocess.run([systemd_analyze, "syscall-filter", item], capture_output=True, text=True,
                                check=True, timeout=60).stdout.splitlines()[1:]
        entries = [line.split("#", 1)[0].strip() for line in listed]
        names |= syscall_set(systemd_analyze, [e for e in entries if e])
    return names


def traced_server_syscalls(strace: str, trace: Path, tmp_path: Path) -> str:
    """Run the server under strace through what it does in service: start-up with a token fetched and cached,
    a read and a refused write (an audit event), the audit file renamed and SIGHUP, another event, /metrics,
    then SIGTERM and the drain. Returns the trace."""
    key = new_api_key("desk", "opera:read", "*")
    with standalone_sandbox() as sandbox:
        port = free_port()
        env = replica_env(sandbox.url, None, port, enable_persistent_token_cache="true",
                          token_cache_dir=str(tmp_path / "cache"), audit_log=str(tmp_path / "logs" / "audit.jsonl"),
                          mcp_auth="api_key", mcp_api_keys=key.line)
        server = Process("traced", [strace, "-f", "-qq", "-o", str(trace), sys.executable, "-m", "app", "serve"], env,
                         port, "/ready")
        try:
            server.start()
            assert server.proc is not None
            (child,) = Path(f"/proc/{server.proc.pid}/task/{server.proc.pid}/children").read_text().split()

            async def calls() -> None:
                http = httpx2.AsyncClient(headers={"Authorization": f"Bearer {key.key}"}, timeout=30)
                async with http, Client(streamable_http_client(f"{server.url}/mcp", http_client=http)) as client:
                    assert not (await client.call_tool("list_arrivals", {"date": "2026-05-01", "limit": 3})).is_error
                    charge = {"reservation_id": "1", "transaction_code": "2010", "amount": 1}
                    assert (await client.call_tool("post_charge", charge)).is_error
                    (tmp_path / "logs" / "audit.jsonl").rename(tmp_path / "logs" / "audit.jsonl.1")
                    os.kill(int(child), signal.SIGHUP)
                    assert (await client.call_tool("post_charge", charge)).is_error

            asyncio.run(calls())
            assert httpx2.get(f"{server.url}/metrics", timeout=10).status_code == 200
            os.kill(int(child), signal.SIGTERM)  # the server, not strace (which would detach and leave it)
            assert server.wait(60) == 0
        finally:
            server.stop()
    assert sorted(p.name for p in (tmp_path / "logs").iterdir()) == ["audit.jsonl", "audit.jsonl.1"]
    assert [p.name for p in (tmp_path / "cache").iterdir()]
    return trace.read_text()


def test_every_system_call_the_server_makes_passes_the_units_filter(systemd_analyze: str, tmp_path: Path) -> None:
    """SystemCallFilter= and MemoryDenyWriteExecute= would kill or break the service at the first call outside
    them; strace shows the server stays inside through start-up, calls, the audit reopen and the drain."""
    strace = debian_tool("strace", "strace")
    text = traced_server_syscalls(strace, tmp_path / "trace", tmp_path)
    used = {m.group(1) for line in text.splitlines()
            if (m := re.match(r"\d+\s+(?:<\.\.\. )?([a-z0-9_]+)[( ]", line))}
    filters = DIRECTIVES["Service.SystemCallFilter"]
    allowed = syscall_set(systemd_analyze, [f for line in filters if not line.startswith("~") for f in line.split()])
    denied = syscall_set(systemd_analyze, [f for line in filters if line.startswith("~")
                                           for f in line.removeprefix("~").split()])
    assert len(used) > 30, "the trace is nearly empty"
    assert used <= allowed - denied, f"outside the filter: {sorted(used - (allowed - denied))}"
    assert one("MemoryDenyWriteExecute") == "yes"
    assert not re.search(r"PROT_(WRITE\|PROT_EXEC|EXEC\|PROT_WRITE)", text), "a writable and executable mapping"
    assert not re.search(r"mprotect\([^)]*PROT_EXEC", text), "memory made executable after the start"
