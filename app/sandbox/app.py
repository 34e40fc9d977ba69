"""The sandbox's Starlette app: `create_sandbox_app(config)` builds the OHIP emulator with its own state."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date

from app.sandbox.seed import build_enterprise
from app.sandbox.state import Enterprise


@dataclass
class SandboxConfig:
    """How a sandbox is built. The defaults are the public demo credentials of the emulator."""

    seed: int = 42
    business_date: date | None = None  # None: today
    token_ttl: int = 3600
    client_id: str = "sandbox-client"
    client_secret: str = "sandbox-secret"  # noqa: S105 - the public demo credential of the emulator
    app_key: str = "5f7e3b2a-9c41-4d6e-8a2b-1c3d5e7f9a0b"
    username: str = "sandbox-user"
    password: str = "sandbox-password"  # noqa: S105 - the public demo credential of the emulator
    hotels: tuple[str, ...] = ("SAND01", "SAND02")
    rooms_per_hotel: int = 100


@dataclass
class Sandbox:
    """One running emulator: its configuration and its hotel world (`enterprise`)."""

    config: SandboxConfig
    enterprise: Enterprise = field(init=False)

    def __post_init__(self) -> None:
        self.enterprise = self._build()

    def _build(self) -> Enterprise:
        return build_enterprise(
            seed=self.config.seed,
            business_date=self.config.business_date or date.today(),
            hotels=self.config.hotels,
            rooms_per_hotel=self.config.rooms_per_hotel,
        )
