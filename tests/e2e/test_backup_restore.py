"""`opera-cloud-mcp backup` / `restore` with real processes: a server against a standalone sandbox (which counts
token requests) caches its token; the backup holds that sealed token and the configuration but no secret; restored
onto a fresh directory of a "new host", with the secrets provided again, a new server is ready and serves tools
without a single token request. A damaged archive and a restore over existing files are refused."""

from __future__ import annotations

import asyncio
import io
import json
import subprocess
import sys
import tarfile
from collections.abc import Iterator
from pathlib import Path

import httpx2
import pytest

from app.config import SANDBOX_APP_KEY, SANDBOX_CLIENT_SECRET
from tests.support.fleet import CLEAN_ENV, Process, replica, standalone_sandbox
from tests.support.mcp_client import call_ok, mcp_client
from tests.support.servers import free_port

SECRETS = {"OPERA_CLIENT_SECRET": SANDBOX_CLIENT_SECRET, "OPERA_APP_KEY": SANDBOX_APP_KEY}


def cli(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "app", *args], capture_output=True, text=True, check=False,
                          env=env, timeout=60)


def token_requests(sandbox: Process) -> int:
    return int(httpx2.get(f"{sandbox.url}/_sandbox/stats", timeout=5).json()["token_requests"])


def env_lines(path: Path) -> dict[str, str]:
    return dict(line.split("=", 1) for line in path.read_text().splitlines() if line and not line.startswith("#"))


@pytest.fixture(scope="module")
def sandbox() -> Iterator[Process]:
    with standalone_sandbox() as proc:
        yield proc


@pytest.fixture(scope="module")
def backed_up(sandbox: Process, tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Path, Process]]:
    """A server that obtained and cached its token, and a backup taken while it ran (the server then stopped)."""
    tmp_path = tmp_path_factory.mktemp("backup")
    server = replica("original", sandbox.url, None, enable_persistent_token_cache="true",
                     token_cache_dir=str(tmp_path / "old-host" / "cache"))
    try:
        server.start()
        archive = tmp_path / "backup.tar.gz"
        done = cli("backup", "--output", str(archive), env=server.env)
        assert done.returncode == 0, done.stderr
        assert ("secrets NOT in the backup, to provide again on restore: OPERA_APP_KEY, OPERA_CLIENT_SECRET"
                in done.stdout)
        assert "token cache: 1 file" in done.stdout
    finally:
        server.stop()
    yield archive, server


def test_restored_token_cache_starts_a_new_server_without_a_token_request(
    backed_up: tuple[Path, Process], sandbox: Process, tmp_path: Path
) -> None:
    archive, original = backed_up
    assert archive.stat().st_mode & 0o777 == 0o600
    cache, env_out = tmp_path / "new-host" / "cache", tmp_path / "new-host" / "opera-cloud-mcp.env"
    done = cli("restore", str(archive), "--token-cache-dir", str(cache), "--env-out", str(env_out), env=CLEAN_ENV)
    assert done.returncode == 0, done.stderr
    assert f"1 file(s) into {cache}" in done.stdout and "OPERA_APP_KEY, OPERA_CLIENT_SECRET" in done.stdout
    assert cache.stat().st_mode & 0o777 == 0o700
    assert [p.stat().st_mode & 0o777 for p in cache.iterdir()] == [0o600]

    restored = env_lines(env_out)
    assert not set(SECRETS) & set(restored), "a secret came back from the backup"
    assert restored["OPERA_BASE_URL"] == original.env["OPERA_BASE_URL"]
    assert restored["OPERA_CLIENT_ID"] == original.env["OPERA_CLIENT_ID"]
    assert "# OPERA_CLIENT_SECRET=" in env_out.read_text()

    before = token_requests(sandbox)
    port = free_port()
    env = {**CLEAN_ENV, **restored, **SECRETS, "OPERA_TOKEN_CACHE_DIR": str(cache), "OPERA_PORT": str(port)}
    server = Process("restored", [sys.executable, "-m", "app"], env, port, "/ready")
    try:
        server.start()  # /ready 200: it holds a valid OHIP token

        async def one_call() -> None:
            async with mcp_client(server.url) as client:
                arrivals = await call_ok(client, "list_arrivals", {"date": "2026-05-01", "limit": 3})
            assert arrivals["items"]

        asyncio.run(one_call())
    finally:
        server.stop()
    assert token_requests(sandbox) - before == 0


def test_the_backup_holds_no_secret_and_every_member_has_its_checksum(backed_up: tuple[Path, Process]) -> None:
    archive, _ = backed_up
    with tarfile.open(archive, "r:gz") as tar:
        members = {m.name: tar.extractfile(m).read() for m in tar.getmembers()}  # type: ignore[union-attr]
    for name, data in members.items():
        for secret in SECRETS.values():
            assert secret.encode() not in data, f"{name} holds a secret"
    manifest = json.loads(members.pop("manifest.json"))
    assert manifest["format"] == "opera-cloud-mcp backup" and manifest["format_version"] == 1
    assert {f["name"] for f in manifest["files"]} == set(members)
    assert [n for n in members if n.startswith("token-cache/")] and "config.env" in members
    assert "OPERA_CLIENT_SECRET=********" in members["effective-config.txt"].decode()


def test_a_damaged_archive_or_a_restore_over_existing_files_is_refused(
    backed_up: tuple[Path, Process], tmp_path: Path
) -> None:
    archive, _ = backed_up
    cache = tmp_path / "cache"
    assert cli("restore", str(archive), "--token-cache-dir", str(cache), env=CLEAN_ENV).returncode == 0
    again = cli("restore", str(archive), "--token-cache-dir", str(cache), env=CLEAN_ENV)
    assert again.returncode == 2 and "exists" in again.stderr and "--force" in again.stderr

    damaged = tmp_path / "damaged.tar.gz"
    with tarfile.open(archive, "r:gz") as source, tarfile.open(damaged, "w:gz") as target:
        for member in source.getmembers():
            data = source.extractfile(member).read()  # type: ignore[union-attr]
            if member.name == "config.env":
                data = data.replace(b"OPERA_BASE_URL=", b"OPERA_BASE_URL=https://attacker.example#")
                member.size = len(data)
            target.addfile(member, io.BytesIO(data))
    refused = cli("restore", str(damaged), "--token-cache-dir", str(tmp_path / "other"), env=CLEAN_ENV)
    assert refused.returncode == 2 and "config.env does not match its checksum" in refused.stderr
    assert not (tmp_path / "other").exists(), "something was written before the archive was checked"
