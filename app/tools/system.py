"""System toolset: the server's own health and facts, so an agent can tell an OHIP outage from its own mistake."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, Field

from app import __version__
from app.tools.registry import ToolDef, ToolServices


class ComponentHealth(BaseModel):
    status: str = Field(description="ok, degraded or down")
    last_error: str | None = Field(default=None, description="the last problem seen, if any")
    details: dict[str, Any] = Field(default_factory=dict, description="component-specific facts")


class HealthCheckResult(BaseModel):
    status: str = Field(description="ok, degraded or down, for the whole server")
    ready: bool = Field(description="whether the server can take OHIP work now")
    reasons: list[str] = Field(description="why it is not ready, if it is not")
    mode: str = Field(description="sandbox (the embedded OHIP emulator) or ohip (real OPERA Cloud)")
    environment: str
    version: str
    uptime_s: float
    components: dict[str, ComponentHealth] = Field(description="auth, ohip, cache, limiter, breaker")


class ServerInfo(BaseModel):
    name: str
    version: str
    mode: str = Field(description="sandbox or ohip")
    environment: str
    default_hotel_id: str = Field(description="the hotel used when a tool is called without hotel_id")
    ohip_base_url: str = Field(description="the OHIP gateway this server talks to")
    api_version: str
    read_only: bool = Field(description="true when write tools are switched off")
    toolsets: list[str]
    tools: list[str] = Field(description="the tools this server offers")


def build(services: ToolServices) -> list[ToolDef]:
    settings = services.settings

    async def health_check() -> HealthCheckResult:
        reporter = services.extras["health"]
        report = reporter.health()
        components = {
            name: ComponentHealth(
                status=str(c.get("status", "unknown")),
                last_error=c.get("last_error"),
                details={k: v for k, v in c.items() if k not in ("status", "last_error")},
            )
            for name, c in report["components"].items()
        }
        return HealthCheckResult(
            status=report["status"], ready=report["ready"]["status"] == "ready", reasons=report["ready"]["reasons"],
            mode=report["mode"], environment=report["environment"], version=report["version"],
            uptime_s=report["uptime_s"], components=components,
        )

    async def get_server_info() -> ServerInfo:
        facts: dict[str, Any] = {
            "default_hotel_id": settings.default_hotel_id, "read_only": settings.read_only,
            "toolsets": list(settings.toolsets), "tools": sorted(services.extras.get("tool_names", [])),
        }
        # A connection narrowed by X-MCP-* headers or an /mcp/... URL sees its own hotel, read-only and tools.
        connection = services.extras.get("connection")
        if connection is not None:
            facts.update(connection())
        return ServerInfo(
            name="opera-cloud-mcp", version=__version__, mode=settings.mode, environment=settings.environment,
            ohip_base_url=settings.effective_base_url, api_version=settings.api_version, **facts,
        )

    return [
        ToolDef(
            name="health_check", toolset="system", access="read", fn=health_check, title="Server health",
            description=(
                "Whether this server can reach OPERA Cloud now: token, OHIP, circuit breaker, rate limiter, cache, "
                "each with its last error. Use it when tools fail with connection, authentication or 'unavailable' "
                "errors, before retrying."
            ),
            read_only=True, idempotent=True,
        ),
        ToolDef(
            name="get_server_info", toolset="system", access="read", fn=get_server_info, title="Server facts",
            description=(
                "The OPERA environment (sandbox or real OHIP), the default hotel used without hotel_id, read-only or "
                "not, and the tools offered. Call it once at the start."
            ),
            read_only=True, idempotent=True,
        ),
    ]
