"""The audit file rotates under load without losing, splitting or repeating a line: a real server process writes an
event for every refused call from several clients while the real logrotate, with the shipped configuration (only
the path, the retention and the postrotate signal adapted to the test), rotates it again and again; then every
event is counted across the live file, the plain .1 and the compressed older ones, directly and with
`opera-cloud-mcp audit`."""

from __future__ import annotations

import asyncio
import gzip
import json
import os
import re
import signal
import subprocess
import sys
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx2
import pytest
from mcp import Client
from mcp.client.streamable_http import streamable_http_client

from app.security.api_keys import new_api_key
from app.security.audit import FileAuditSink, reopen_on_sighup
from tests.support.debian import debian_tool
from tests.support.fleet import CLEAN_ENV, Process
from tests.support.servers import free_port

REPO = Path(__file__).resolve().parents[2]
SHIPPED = REPO / "deploy" / "systemd" / "opera-cloud-mcp.logrotate"
CLIENTS = 4
CALLS_PER_ROUND = 30  # per client
ROUNDS = 6  # one logrotate run overlaps each round
FIRST_ID = 20_000_000


@pytest.fixture(scope="module")
def logrotate() -> str:
    return debian_tool("logrotate", "logrotate")


def adapted_config(audit: Path, postrotate: str | None) -> str:
    """The shipped configuration for `audit`: nothing deleted during the test, and instead of systemctl (no
    systemd here) either a SIGHUP to the test's server or no signal at all (the writer's own inode check)."""
    text = SHIPPED.read_text()
    text, paths = re.subn(r"^/var/log/opera-cloud-mcp/\*\.jsonl", str(audit), text, flags=re.M)
    text, kept = re.subn(r"^(\s*)rotate \d+", r"\1rotate 1000", text, flags=re.M)
    script = f"\\1postrotate\n\\1    {postrotate}\n\\1endscript" if postrotate else ""
    text, scripts = re.subn(r"^(\s*)postrotate\n.*?\n\s*endscript", script, text, flags=re.M | re.S)
    assert (paths, kept, scripts) == (1, 1, 1), "the shipped logrotate config changed shape; adapt this test"
    directives = {line.split()[0] for line in text.splitlines() if line.strip() and not line.lstrip().startswith("#")}
    assert "copytruncate" not in directives and {"nocreate", "compress", "delaycompress"} <= directives
    return text


@pytest.fixture
def audited_server(tmp_path: Path) -> Iterator[tuple[Process, Path, str]]:
    """`python -m app` (embedded sandbox) writing its audit trail to tmp_path/audit.jsonl; the key of a caller
    that holds only opera:read, whose every write is refused and audited without reaching OHIP."""
    audit = tmp_path / "logs" / "audit.jsonl"
    reader = new_api_key("reader", "opera:read", "*")
    port = free_port()
    env = {**CLEAN_ENV, "OPERA_PORT": str(port), "OPERA_AUDIT_LOG": str(audit), "OPERA_MCP_AUTH": "api_key",
           "OPERA_MCP_API_KEYS": reader.line, "OPERA_INBOUND_REQUESTS_PER_MINUTE": "1000000",
           "OPERA_LOG_LEVEL": "WARNING", "OPERA_ENVIRONMENT": "test", "OPERA_SANDBOX_BUSINESS_DATE": "2026-05-01"}
    server = Process("audited-server", [sys.executable, "-m", "app"], env, port, "/ready")
    try:
        yield server.start(), audit, reader.key
    finally:
        server.stop()


async def refused_writes(url: str, key: str, ids: range, halfway: asyncio.Event) -> None:
    """One client posting a charge on each reservation id of `ids`; each is refused (scope) and audited once
    before the answer is sent. `halfway` is set once half of them are answered."""
    http = httpx2.AsyncClient(headers={"Authorization": f"Bearer {key}"}, timeout=httpx2.Timeout(30.0))
    async with http, Client(streamable_http_client(f"{url}/mcp", http_client=http)) as client:
        for done, reservation in enumerate(ids, 1):
            result = await client.call_tool("post_charge", {"reservation_id": str(reservation),
                                                            "transaction_code": "1000", "amount": 1})
            assert result.is_error
            if done == len(ids) // 2:
                halfway.set()


def read_lines(path: Path) -> list[str]:
    opener: Any = gzip.open if path.suffix == ".gz" else open
    with opener(path, "rt", encoding="utf-8") as handle:
        return [line for line in handle.read().split("\n") if line]


@pytest.mark.parametrize("reopen", ["sighup", "inode"])
def test_rotating_under_load_loses_splits_and_repeats_no_event(
    reopen: str, audited_server: tuple[Process, Path, str], logrotate: str, tmp_path: Path
) -> None:
    server, audit, key = audited_server
    assert server.proc is not None
    config = tmp_path / "logrotate.conf"
    postrotate = f"kill -HUP {server.proc.pid}" if reopen == "sighup" else None
    config.write_text(adapted_config(audit, postrotate))
    os.chmod(config, 0o644)  # logrotate refuses a config others can write
    state = tmp_path / "logrotate.state"

    def rotate() -> None:
        done = subprocess.run([logrotate, "-s", str(state), "-f", str(config)], capture_output=True, text=True,
                              check=False, timeout=60)
        assert done.returncode == 0, done.stderr

    async def rotate_mid_round(halfway: asyncio.Event) -> None:
        # Once one client is half-way, so the rename falls among the other clients' writes.
        await halfway.wait()
        await asyncio.to_thread(rotate)

    async def load() -> None:
        next_id = FIRST_ID
        for _ in range(ROUNDS):
            batches = [range(next_id + c * CALLS_PER_ROUND, next_id + (c + 1) * CALLS_PER_ROUND)
                       for c in range(CLIENTS)]
            next_id += CLIENTS * CALLS_PER_ROUND

            halfway = asyncio.Event()

            await asyncio.gather(*(refused_writes(server.url, key, ids, halfway) for ids in batches),
                                 rotate_mid_round(halfway))

    asyncio.run(load())
    assert server.proc.poll() is None, "the server died (SIGHUP not handled?)"
    server.stop()  # every event flushed and the file closed

    files = sorted(audit.parent.iterdir())
    assert audit in files and len(files) >= ROUNDS, [f.name for f in files]
    assert any(f.name.endswith(".gz") for f in files), "logrotate compressed nothing: the test rotated nothing"
    events = []
    for path in files:
        for line in read_lines(path):
            events.append(json.loads(line))  # a split or interleaved line fails here
    ids = Counter(int(e["ids"]["reservation_id"]) for e in events if e.get("tool") == "post_charge")
    expected = set(range(FIRST_ID, FIRST_ID + ROUNDS * CLIENTS * CALLS_PER_ROUND))
    assert set(ids) == expected, f"lost {len(expected - set(ids))} of {len(expected)} events"
    assert max(ids.values()) == 1, "an event was written twice"
    assert all(e["outcome"] == "refused" and e["reason"] == "scope" for e in events)

    # The query command reads the same trail, rotated and compressed files included.
    query = subprocess.run([sys.executable, "-m", "app", "audit", "--file", str(audit), "--tool", "post_charge",
                            "--json"], capture_output=True, text=True, check=False, env=CLEAN_ENV, timeout=60)
    assert query.returncode == 0, query.stderr
    assert len(query.stdout.splitlines()) == len(expected)
    assert f"{len(expected)} of {len(events)} events matched ({len(files)} files" in query.stderr


def test_sighup_reopens_at_once_and_a_renamed_file_is_noticed_on_the_next_event(tmp_path: Path) -> None:
    path = tmp_path / "audit.jsonl"
    sink = FileAuditSink(path)
    sink.write({"n": 1})
    path.rename(tmp_path / "audit.jsonl.1")
    sink.write({"n": 2})  # the rename is noticed: a new file
    assert [json.loads(x)["n"] for x in read_lines(tmp_path / "audit.jsonl.1")] == [1]
    assert [json.loads(x)["n"] for x in read_lines(path)] == [2]
    path.rename(tmp_path / "audit.jsonl.2")
    previous = signal.getsignal(signal.SIGHUP)
    reopen_on_sighup(sink)  # as the server does before serving
    try:
        os.kill(os.getpid(), signal.SIGHUP)
        assert path.exists() and path.stat().st_mode & 0o777 == 0o600  # recreated before any event
    finally:
        signal.signal(signal.SIGHUP, previous)
    sink.write({"n": 3})
    sink.close()
    assert [json.loads(x)["n"] for x in read_lines(path)] == [3]
    assert sink.reopened == 2
