"""`opera-cloud-mcp backup` / `restore`: the token cache and the configuration, without secrets, in one tar.gz.

The archive holds `manifest.json` (format, version, time, SHA-256 and size of every other member), `config.env`
(every OPERA_* variable that was set, secrets left out and named as such), `effective-config.txt` (every setting
the server uses, secrets masked) and `token-cache/ohip-token-*.bin` (the cached OHIP token as stored: AES-GCM
sealed with a key derived from OPERA_CLIENT_SECRET, which the archive does not hold). Restore checks every
checksum before writing anything and writes only those known members, never a path the archive names.
"""

from __future__ import annotations

import argparse
import contextlib
import hashlib
import io
import json
import os
import re
import sys
import tarfile
import tempfile
import time
from dataclasses import dataclass
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any, get_args

from pydantic import SecretStr

from app import __version__
from app.config import ENV_PREFIX, ConfigError, Settings
from app.ops import with_env_file

FORMAT = "opera-cloud-mcp backup"
FORMAT_VERSION = 1
MANIFEST = "manifest.json"
CONFIG_ENV = "config.env"
EFFECTIVE = "effective-config.txt"
TOKEN_DIR = "token-cache/"  # noqa: S105 - a directory in the archive, not a secret
#: The only token cache files there are (app/opera/stores.py EncryptedFileTokenStore).
TOKEN_FILE = re.compile(r"ohip-token-[0-9a-f]{16}\.bin")
#: Not a SecretStr, but masked by check-config too: the hashes of every inbound API key.
ALSO_SECRET = ("mcp_api_keys",)


class BackupError(Exception):
    """Why a backup or restore cannot be done, in one line."""


def env_name(field: str) -> str:
    return ENV_PREFIX + field.upper()


def secret_fields() -> list[str]:
    """The settings a backup leaves out: every SecretStr, and the inbound API key hashes."""
    names = [name for name, info in Settings.model_fields.items()
             if info.annotation is SecretStr or SecretStr in get_args(info.annotation)]
    return [*names, *ALSO_SECRET]


def _env_value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (list, tuple)):
        return ",".join(map(str, value))
    if isinstance(value, date):
        return value.isoformat()
    return "" if value is None else str(value)


def config_env(settings: Settings) -> tuple[str, list[str]]:
    """config.env for `settings` (the variables that were set, secrets as comments) and the secret variables
    that were set, which whoever restores must provide again."""
    secrets = set(secret_fields())
    lines = [f"# opera-cloud-mcp {__version__} configuration, backed up {_now()}.",
             "# Secrets are NOT in this file: the commented lines below must be filled in again before starting."]
    missing = []
    for field in sorted(settings.model_fields_set):
        info = Settings.model_fields.get(field)
        if info is None:
            continue
        alias = info.validation_alias
        name = alias if isinstance(alias, str) else env_name(field)
        if field in secrets:
            if getattr(settings, field):
                missing.append(name)
            continue
        lines.append(f"{name}={_env_value(getattr(settings, field))}")
    lines += [f"# {name}=  (secret, not backed up: provide it again)" for name in missing]
    return "\n".join(lines) + "\n", missing


def effective_config(settings: Settings) -> str:
    lines = [f"# every setting opera-cloud-mcp {__version__} used at {_now()}; secrets shown as ********"]
    lines += [f"{name}={_env_value(value)}" for name, value in settings.masked().items()]
    return "\n".join(lines) + "\n"


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds").replace("+00:00", "Z")


def _sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def token_files(settings: Settings) -> list[Path]:
    directory = settings.token_cache_dir
    if not directory.is_dir():
        return []
    return sorted(p for p in directory.iterdir() if TOKEN_FILE.fullmatch(p.name) and p.is_file())


@dataclass(frozen=True)
class BackupResult:
    path: Path
    members: dict[str, bytes]
    secrets_left_out: list[str]
    token_files: int


def build_backup(settings: Settings, output: Path) -> BackupResult:
    """Write the archive to `output` (mode 0600, atomically); refuses to overwrite a file."""
    if output.exists():
        raise BackupError(f"{output} exists; choose another --output (a backup never replaces a file)")
    env_text, missing = config_env(settings)
    members: dict[str, bytes] = {CONFIG_ENV: env_text.encode(), EFFECTIVE: effective_config(settings).encode()}
    tokens = token_files(settings)
    for path in tokens:
        try:
            members[TOKEN_DIR + path.name] = path.read_bytes()
        except OSError as exc:
            raise BackupError(f"cannot read the token cache file {path}: {exc.strerror or exc} (run as the "
                              "service's user or root)") from None
    manifest = {
        "format": FORMAT, "format_version": FORMAT_VERSION, "app_version": __version__, "created": _now(),
        "mode": settings.mode, "token_cache_dir": str(settings.token_cache_dir),
        "persistent_token_cache": settings.enable_persistent_token_cache,
        "secrets_left_out": missing,
        "secret_variables_never_backed_up": [env_name(f) for f in secret_fields()],
        "files": [{"name": name, "bytes": len(data), "sha256": _sha256(data)} for name, data in members.items()],
    }
    blob = io.BytesIO()
    with tarfile.open(fileobj=blob, mode="w:gz") as archive:
        for name, data in [(MANIFEST, json.dumps(manifest, indent=2).encode() + b"\n"), *members.items()]:
            info = tarfile.TarInfo(name)
            info.size, info.mode, info.mtime = len(data), 0o600, int(time.time())
            archive.addfile(info, io.BytesIO(data))
    output.parent.mkdir(parents=True, exist_ok=True)
    _write_new(output, blob.getvalue())
    return BackupResult(path=output, members=members, secrets_left_out=missing, token_files=len(tokens))


def _write_new(path: Path, data: bytes, *, replace: bool = False) -> None:
    """Write `data` to `path` with mode 0600 through a temporary file in the same directory."""
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}-", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        os.chmod(tmp, 0o600)
        if replace:
            os.replace(tmp, path)
        else:
            os.link(tmp, path)  # fails if the path appeared meanwhile
            os.unlink(tmp)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise


def read_backup(archive_path: Path) -> tuple[dict[str, Any], dict[str, bytes]]:
    """The manifest and the members of an archive, every checksum verified; nothing is written."""
    try:
        archive = tarfile.open(archive_path, mode="r:gz")  # noqa: SIM115 - closed below
    except (OSError, tarfile.TarError) as exc:
        raise BackupError(f"{archive_path} is not a backup archive ({exc})") from None
    contents: dict[str, bytes] = {}
    with archive:
        for info in archive.getmembers():
            known = info.name in (MANIFEST, CONFIG_ENV, EFFECTIVE) or (
                info.name.startswith(TOKEN_DIR) and TOKEN_FILE.fullmatch(info.name.removeprefix(TOKEN_DIR)))
            if not info.isfile() or not known:
                raise BackupError(f"{archive_path}: unexpected member {info.name!r}; not an opera-cloud-mcp backup")
            handle = archive.extractfile(info)
            assert handle is not None  # a regular file
            contents[info.name] = handle.read()
    try:
        manifest = json.loads(contents.pop(MANIFEST))
    except (KeyError, ValueError):
        raise BackupError(f"{archive_path}: no readable {MANIFEST}") from None
    if not isinstance(manifest, dict) or manifest.get("format") != FORMAT:
        raise BackupError(f"{archive_path}: not an opera-cloud-mcp backup")
    if manifest.get("format_version") != FORMAT_VERSION:
        raise BackupError(f"{archive_path}: backup format {manifest.get('format_version')} is not the "
                          f"{FORMAT_VERSION} this version ({__version__}) reads")
    listed = {entry["name"]: entry for entry in manifest.get("files", [])}
    if set(listed) != set(contents):
        raise BackupError(f"{archive_path}: the members and the manifest disagree "
                          f"({sorted(set(listed) ^ set(contents))})")
    for name, data in contents.items():
        if _sha256(data) != listed[name]["sha256"] or len(data) != listed[name]["bytes"]:
            raise BackupError(f"{archive_path}: {name} does not match its checksum; the archive is damaged")
    return manifest, contents


def _own_like(path: Path, directory: Path) -> None:
    """As root, give a restored file the owner of its directory (the service's user), or it could not read it."""
    if hasattr(os, "geteuid") and os.geteuid() == 0:
        status = directory.stat()
        os.chown(path, status.st_uid, status.st_gid)


def restore_backup(archive_path: Path, token_cache_dir: Path, env_out: Path | None, *,
                   force: bool = False) -> tuple[dict[str, Any], list[Path]]:
    """Write the archive's token files into `token_cache_dir` (created 0700) and its config.env to `env_out`;
    refuses to replace an existing file unless `force`. Returns the manifest and the files written."""
    manifest, contents = read_backup(archive_path)
    targets = [(token_cache_dir / name.removeprefix(TOKEN_DIR), data)
               for name, data in contents.items() if name.startswith(TOKEN_DIR)]
    if env_out is not None:
        targets.append((env_out, contents[CONFIG_ENV]))
    existing = [str(path) for path, _ in targets if path.exists()]
    if existing and not force:
        raise BackupError(f"{', '.join(existing)} exists; restore into a fresh directory, or pass --force to "
                          "replace")
    if not token_cache_dir.exists():
        token_cache_dir.mkdir(mode=0o700, parents=True)
    written = []
    for path, data in targets:
        path.parent.mkdir(parents=True, exist_ok=True)
        _write_new(path, data, replace=True)
        _own_like(path, path.parent)
        written.append(path)
    return manifest, written


def add_backup_commands(sub: Any) -> None:
    """The `backup` and `restore` subcommands' arguments (registered by app/cli.py)."""
    backup = sub.add_parser("backup", help="save the token cache and the configuration (secrets left out) to a "
                                           "tar.gz")
    backup.add_argument("--output", type=Path, default=None,
                        help="the archive to write (default: opera-cloud-mcp-backup-<UTC time>.tar.gz here)")
    restore = sub.add_parser("restore", help="restore a backup's token cache (and configuration) onto this host")
    restore.add_argument("archive", type=Path, help="a file written by `opera-cloud-mcp backup`")
    restore.add_argument("--token-cache-dir", type=Path, default=None,
                         help="where the token cache goes (default: OPERA_TOKEN_CACHE_DIR)")
    restore.add_argument("--env-out", type=Path, default=None,
                         help="also write the backed-up configuration (without secrets) to this file")
    restore.add_argument("--force", action="store_true", help="replace files that exist")
    for parser in (backup, restore):
        parser.add_argument("--env-file", type=Path, default=None,
                            help="read OPERA_* settings from this file too, e.g. "
                                 "/etc/opera-cloud-mcp/opera-cloud-mcp.env")


def run_backup(args: argparse.Namespace, settings: Settings) -> int:
    try:
        settings = with_env_file(settings, args.env_file)
        output = args.output or Path(f"opera-cloud-mcp-backup-{datetime.now(UTC).strftime('%Y%m%dT%H%M%SZ')}.tar.gz")
        result = build_backup(settings, output)
    except (BackupError, ConfigError) as exc:
        print(f"backup: {exc}", file=sys.stderr)
        return 2
    if result.token_files:
        tokens = (f"{result.token_files} file from {settings.token_cache_dir}, as stored: encrypted with a key "
                  "derived from OPERA_CLIENT_SECRET (not in the backup), valid for the token's remaining life")
    elif settings.enable_persistent_token_cache:
        tokens = f"none in {settings.token_cache_dir} (no token cached yet)"
    else:
        tokens = "none (OPERA_ENABLE_PERSISTENT_TOKEN_CACHE is off)"
    left_out = ", ".join(result.secrets_left_out) or "none was set"
    print(f"backup written: {result.path} (mode 0600)\n"
          f"  token cache: {tokens}\n"
          f"  configuration: {CONFIG_ENV} (the variables that were set), {EFFECTIVE} (every setting, masked)\n"
          f"  secrets NOT in the backup, to provide again on restore: {left_out}\n"
          f"  (never backed up: {', '.join(env_name(f) for f in secret_fields())})")
    return 0


def run_restore(args: argparse.Namespace, settings: Settings) -> int:
    try:
        settings = with_env_file(settings, args.env_file)
        directory = args.token_cache_dir or settings.token_cache_dir
        manifest, written = restore_backup(args.archive, directory, args.env_out, force=args.force)
    except (BackupError, ConfigError) as exc:
        print(f"restore: {exc}", file=sys.stderr)
        return 2
    except OSError as exc:
        print(f"restore: cannot write {exc.filename}: {exc.strerror or exc}", file=sys.stderr)
        return 2
    tokens = [p for p in written if p != args.env_out]
    missing = ", ".join(manifest.get("secrets_left_out", [])) or "none"
    print(f"restored {args.archive} (backup of {manifest.get('created')}, version {manifest.get('app_version')})\n"
          f"  token cache: {len(tokens)} file(s) into {directory}"
          + (" (used only with the same OPERA_CLIENT_SECRET, base URL and client id)" if tokens else "") + "\n"
          + (f"  configuration written to {args.env_out} (mode 0600)\n" if args.env_out else
             "  configuration not written (pass --env-out FILE to have it)\n")
          + f"  secrets to provide again (they were not backed up): {missing}")
    return 0
