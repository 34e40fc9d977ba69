"""Operator commands that run beside the server on its host: `backup` / `restore` (token cache and configuration)
and `audit` (the audit trail, rotated files included, filtered for a person to read)."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from app.config import ConfigError, Settings, load_settings


def with_env_file(settings: Settings, env_file: Path | None) -> Settings:
    """The settings, read again with the service's environment file (systemd's EnvironmentFile=) when one is
    named, so a command run by hand sees what the service sees. Raises ConfigError."""
    if env_file is None:
        return settings
    if not env_file.is_file():
        raise ConfigError(f"--env-file {env_file}: no such file")
    return load_settings(_env_file=env_file)


#: The subcommands this package serves (app/cli.py registers and dispatches them).
COMMANDS = ("backup", "restore", "audit")


def add_commands(sub: Any) -> None:
    from app.ops.audit_query import add_audit_command
    from app.ops.backup import add_backup_commands

    add_backup_commands(sub)
    add_audit_command(sub)


def run_command(args: argparse.Namespace, settings: Settings) -> int:
    from app.ops.audit_query import run_audit
    from app.ops.backup import run_backup, run_restore

    run = {"backup": run_backup, "restore": run_restore, "audit": run_audit}[args.command]
    return run(args, settings)
