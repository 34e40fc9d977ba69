"""Sandbox routes for the OHIP rsv module."""

from __future__ import annotations

from typing import TYPE_CHECKING

from starlette.routing import BaseRoute

if TYPE_CHECKING:
    from app.sandbox.app import Sandbox


def routes(sandbox: Sandbox) -> list[BaseRoute]:
    return []
