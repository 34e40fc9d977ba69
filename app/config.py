"""Settings: every OPERA_* variable, parsed and validated once; secrets stay SecretStr.

Nothing else in the package reads os.environ. A bad value becomes a ConfigError whose message is one line that
names the variable and the problem; the CLI prints it and exits 2.
"""

from __future__ import annotations

import ipaddress
import re
from datetime import date
from pathlib import Path
from typing import Annotated, Any, Literal
from urllib.parse import urlsplit

from pydantic import Field, SecretStr, ValidationError, ValidationInfo, field_validator, model_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

ENV_PREFIX = "OPERA_"

#: Credentials of the embedded sandbox; not secrets, since the sandbox only exists on loopback.
SANDBOX_CLIENT_ID = "sandbox-client"
SANDBOX_CLIENT_SECRET = "sandbox-secret"  # noqa: S105 - the public demo credential of the emulator
SANDBOX_APP_KEY = "5f7e3b2a-9c41-4d6e-8a2b-1c3d5e7f9a0b"
#: The emulator's enterprise; like OCIM, its token endpoint wants an `enterpriseId` header for client_credentials.
SANDBOX_ENTERPRISE_ID = "SANDBOX"
#: The cashier the embedded sandbox seeds for this app (its "PMS cashier of the app", as Oracle's HPI samples call
#: cashier 113); payments, folios and check-outs are posted under it in sandbox mode.
SANDBOX_CASHIER_ID = 113
#: Toolsets whose write tools post money or check guests out, and so need a cashier (post_payment, check_out...).
CASHIER_TOOLSETS = ("billing", "front_desk")
SANDBOX_PATH = "/sandbox"

TOOLSETS = ("reservations", "availability", "guests", "front_desk", "housekeeping", "billing", "system")

LogLevel = Literal["DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL"]


class ConfigError(Exception):
    """A configuration problem, phrased as one line for a human."""


def _split_csv(value: Any) -> Any:
    if isinstance(value, str):
        return [part.strip() for part in value.split(",") if part.strip()]
    return value


CsvList = Annotated[list[str], NoDecode]


class Settings(BaseSettings):
    model_config = SettingsConfigDict(
        env_prefix=ENV_PREFIX, extra="ignore", validate_default=True, populate_by_name=True
    )

    # --- OHIP connection -------------------------------------------------------------------------------------
    client_id: str | None = None
    client_secret: SecretStr | None = None
    base_url: str | None = Field(default=None, description="OHIP gateway, e.g. https://x.hospitality-api.region.ocs.oc.com")
    token_url: str | None = None
    api_version: str = "v1"
    environment: str = "development"
    default_hotel_id: str = "SAND01"
    app_key: SecretStr | None = None
    enterprise_id: str | None = None
    scope: str | None = None
    grant_type: Literal["client_credentials", "password"] = "client_credentials"
    username: str | None = None
    password: SecretStr | None = None
    cashier_id: int | None = Field(
        default=None, ge=1, le=999_999_999,
        description="the OPERA cashier (csh cashierId) payments, folios and check-outs are posted under",
    )

    # --- outbound policies -----------------------------------------------------------------------------------
    request_timeout: float = Field(default=30.0, gt=0, le=600)
    max_retries: int = Field(default=3, ge=0, le=10)
    enable_cache: bool = True
    cache_ttl: float = Field(default=300.0, ge=0, description="reference data; also caps every business TTL")
    # Business data per kind (seconds; 0: never cached): the desk and other interfaces change it behind our back.
    cache_ttl_availability: float = Field(default=15.0, ge=0, le=300)
    cache_ttl_rooms: float = Field(default=5.0, ge=0, le=300)
    cache_ttl_reservations: float = Field(default=10.0, ge=0, le=300, description="reservation lists and searches")
    cache_ttl_reservation: float = Field(default=10.0, ge=0, le=300, description="one reservation")
    cache_ttl_profiles: float = Field(default=30.0, ge=0, le=300)
    cache_max_memory: int = Field(default=10000, ge=1)
    business_events: bool = Field(
        default=False, description="poll int getBusinessEvents and drop cached answers that OPERA says changed",
    )
    business_events_interval: float = Field(default=5.0, ge=0.05, le=3600)
    business_events_hotels: CsvList = Field(
        default_factory=list, description="hotels whose business events are polled; empty: OPERA_DEFAULT_HOTEL_ID",
    )
    requests_per_second: float = Field(default=10.0, gt=0)
    burst_capacity: int = Field(default=20, ge=1)
    limiter_max_wait: float = Field(default=10.0, ge=0, description="longest a call queues for the limiter")
    breaker_failure_threshold: int = Field(default=5, ge=1)
    breaker_cooldown: float = Field(default=30.0, gt=0)
    enable_persistent_token_cache: bool = False
    token_cache_dir: Path = Path.home() / ".cache" / "opera-cloud-mcp"
    external_system_code: str = Field(
        default="OPERAMCP", min_length=1, max_length=20, pattern=r"^[A-Za-z0-9_-]+$",
        description="the external system code OPERA knows this server by; writes are stamped with it",
    )
    # Hotel-configured codes written into profiles and comments. Unset: the first active code of the hotel's
    # list of values; set: checked against that list at first use.
    phone_type: str | None = Field(default=None, max_length=20, pattern=r"^[A-Za-z0-9_-]+$",
                                   description="phoneUseType of new phone numbers (lov CommunicationTypePhone)")
    email_type: str | None = Field(default=None, max_length=20, pattern=r"^[A-Za-z0-9_-]+$",
                                   description="type of new e-mail addresses (lov CommunicationTypeEmail)")
    address_type: str | None = Field(default=None, max_length=20, pattern=r"^[A-Za-z0-9_-]+$",
                                     description="type of new addresses (lov AddressTypes)")
    comment_type: str | None = Field(default=None, max_length=20, pattern=r"^[A-Za-z0-9_-]+$",
                                     description="note type of reservation comments (lov ReservationNoteTypes)")

    reconcile_settle: float = Field(
        default=5.0, ge=0, le=300,
        description="a write whose outcome became unknown less than this long ago, and that OPERA does not show "
                    "yet, is not redone: OPERA may still be processing it",
    )

    # --- shared state (several replicas) ---------------------------------------------------------------------
    redis_url: SecretStr | None = Field(default=None, description="redis://[:password@]host:port/db; unset: in process")
    redis_prefix: str = Field(default="opera-mcp", min_length=1, max_length=40, pattern=r"^[A-Za-z0-9_.:-]+$")
    redis_timeout: float = Field(default=0.5, gt=0, le=30, description="seconds for one Redis command")
    request_state_key: SecretStr | None = None

    # --- logging ---------------------------------------------------------------------------------------------
    log_level: LogLevel = "INFO"
    enable_structured_logging: bool = True

    # --- server ----------------------------------------------------------------------------------------------
    host: str = "127.0.0.1"
    port: int = Field(default=8000, ge=1, le=65535)
    graceful_shutdown_timeout: float | None = Field(
        default=None, ge=0,
        description="drain bound after SIGTERM; unset: OPERA_LIMITER_MAX_WAIT + OPERA_REQUEST_TIMEOUT + 5 s",
    )
    shutdown_delay: float = Field(
        default=2.0, ge=0, le=120,
        description="after SIGTERM, keep accepting (with /ready 503) this long before closing the listener",
    )
    allowed_hosts: CsvList = Field(default_factory=list, description="host, host:port or host:*; loopback added")
    allowed_origins: CsvList = Field(default_factory=list, description="scheme://host[:port|:*]; loopback added")
    probe_hosts: CsvList = Field(
        default_factory=list,
        description="extra Host values (or networks such as 10.0.0.0/8) admitted on /health /ready /live /metrics only",
    )
    trusted_proxies: CsvList = Field(
        default_factory=list, description="addresses or networks of proxies whose forwarding header is believed",
    )
    trusted_proxy_header: str = Field(
        default="X-Forwarded-For",
        description="the header a trusted proxy names the client in (X-Forwarded-For, X-Real-IP or Forwarded)",
    )
    auth_failures_per_minute: int = Field(
        default=20, ge=1, le=100_000,
        description="failed authentications per source address (and per API key prefix) before 429",
    )
    max_body_bytes: int = Field(default=1_048_576, ge=1024)

    # --- tools -----------------------------------------------------------------------------------------------
    toolsets: CsvList = Field(default_factory=lambda: list(TOOLSETS))
    read_only: bool = False

    # --- inbound security ------------------------------------------------------------------------------------
    mcp_auth: Literal["none", "api_key", "oauth"] = "none"
    mcp_api_keys_file: Path | None = None
    mcp_api_keys: str | None = None
    mcp_oauth_issuer: str | None = None
    mcp_oauth_audience: str | None = None
    mcp_oauth_jwks_url: str | None = None
    mcp_oauth_hotels_claim: str = "hotels"
    mcp_oauth_algorithms: CsvList = Field(default_factory=lambda: ["RS256", "ES256"])
    mcp_resource_url: str | None = None
    allow_unauthenticated: bool = False
    metrics_token: SecretStr | None = None
    audit_log: Path | None = None
    confirm_destructive: bool = True
    inbound_requests_per_minute: int = Field(default=600, ge=1)

    # --- tracing: the standard OpenTelemetry variables (read here, so nothing else touches the environment) ----
    otel_traces_exporter: str | None = Field(default=None, validation_alias="OTEL_TRACES_EXPORTER")
    otel_exporter_otlp_endpoint: str | None = Field(default=None, validation_alias="OTEL_EXPORTER_OTLP_ENDPOINT")
    otel_exporter_otlp_traces_endpoint: str | None = Field(
        default=None, validation_alias="OTEL_EXPORTER_OTLP_TRACES_ENDPOINT"
    )
    otel_service_name: str = Field(default="opera-cloud-mcp", validation_alias="OTEL_SERVICE_NAME")

    # --- embedded sandbox ------------------------------------------------------------------------------------
    sandbox_seed: int = 42
    sandbox_business_date: date | None = None
    sandbox_night_audits: int = Field(default=0, ge=0, le=366, description="night audits run after seeding")
    sandbox_token_ttl: int = Field(default=3600, ge=5)
    sandbox_quota_rps: float | None = Field(default=None, gt=0, description="OHIP's environment throttle; unset: off")
    sandbox_quota_burst: int | None = Field(default=None, ge=1)
    sandbox_request_log_max: int | None = Field(default=2000, ge=1)
    sandbox_hotels: CsvList = Field(
        default_factory=lambda: ["SAND01", "SAND02"], min_length=1,
        description="hotels the sandbox seeds: SAND01 (USD), SAND02 (EUR), SAND03 (KWD, three decimals); others USD",
    )

    @field_validator("allowed_hosts", "allowed_origins", "toolsets", "mcp_oauth_algorithms", "business_events_hotels",
                     "probe_hosts", "trusted_proxies", "sandbox_hotels", mode="before")
    @classmethod
    def _csv(cls, value: Any) -> Any:
        return _split_csv(value)

    @field_validator("allowed_hosts", "probe_hosts")
    @classmethod
    def _hosts(cls, value: list[str], info: ValidationInfo) -> list[str]:
        from app.security.middleware import parse_host_entry

        for entry in value:
            parse_host_entry(entry, networks=info.field_name == "probe_hosts")  # ValueError: one line
        return value

    @field_validator("allowed_origins")
    @classmethod
    def _origins(cls, value: list[str]) -> list[str]:
        from app.security.middleware import parse_origin_entry

        for entry in value:
            parse_origin_entry(entry)
        return value

    @field_validator("sandbox_hotels")
    @classmethod
    def _sandbox_hotels(cls, value: list[str]) -> list[str]:
        codes = [entry.upper() for entry in value]
        for code in codes:
            if not re.fullmatch(r"[A-Z0-9_-]{1,20}", code):
                raise ValueError(f"{code[:40]!r} is not a hotel code (1-20 letters, digits, '_' or '-'), e.g. SAND03")
        if len(set(codes)) != len(codes):
            raise ValueError("names a hotel twice")
        return codes

    @field_validator("trusted_proxies")
    @classmethod
    def _proxies(cls, value: list[str]) -> list[str]:
        for entry in value:
            try:
                ipaddress.ip_network(entry, strict=False)
            except ValueError:
                raise ValueError(f"{entry!r} is not an address or network such as 10.0.0.7 or 10.0.0.0/8 "
                                 "(names are not accepted: a forwarding header is only believed from known "
                                 "addresses)") from None
        return value

    @field_validator("trusted_proxy_header")
    @classmethod
    def _proxy_header(cls, value: str) -> str:
        if not value or len(value) > 64 or not all(c.isascii() and (c.isalnum() or c == "-") for c in value):
            raise ValueError("must be a header name such as X-Forwarded-For, X-Real-IP or Forwarded")
        return value

    @field_validator("toolsets")
    @classmethod
    def _known_toolsets(cls, value: list[str]) -> list[str]:
        unknown = [name for name in value if name not in TOOLSETS]
        if unknown:
            raise ValueError(f"unknown toolset {unknown[0]!r}; choose from {', '.join(TOOLSETS)}")
        return value

    @field_validator("base_url", "token_url", "mcp_oauth_issuer", "mcp_oauth_jwks_url", "mcp_resource_url")
    @classmethod
    def _url(cls, value: str | None) -> str | None:
        if value is None or value == "":
            return None
        parts = urlsplit(value)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise ValueError(f"{value!r} is not an http(s) URL")
        return value.rstrip("/")

    @field_validator("enterprise_id")
    @classmethod
    def _enterprise(cls, value: str | None) -> str | None:
        if value and not (value.isascii() and value.isalnum() and value.upper() == value and len(value) <= 8):
            raise ValueError("must be 1 to 8 upper-case letters or digits")
        return value or None

    @field_validator("cashier_id", mode="before")
    @classmethod
    def _cashier(cls, value: Any) -> Any:
        # csh declares cashierId a number; OPERA's cashier ids are whole numbers (Oracle's samples: 3, 4, 113).
        if isinstance(value, str):
            if not value.strip():
                return None
            if not value.strip().isdigit():
                raise ValueError("must be the OPERA cashier's number (csh cashierId), e.g. 113")
        return value

    @field_validator("redis_url")
    @classmethod
    def _redis(cls, value: SecretStr | None) -> SecretStr | None:
        if value is None or not value.get_secret_value():
            return None
        parts = urlsplit(value.get_secret_value())
        if parts.scheme not in ("redis", "rediss", "unix") or (parts.scheme != "unix" and not parts.hostname):
            raise ValueError("must be a redis://, rediss:// or unix:// URL")
        return value

    @field_validator("api_version")
    @classmethod
    def _version(cls, value: str) -> str:
        if not value or "/" in value or not value.isascii():
            raise ValueError("must be a single path segment such as v1")
        return value

    @field_validator("default_hotel_id")
    @classmethod
    def _hotel(cls, value: str) -> str:
        if not value or len(value) > 20 or not all(c.isalnum() or c in "_-" for c in value):
            raise ValueError("must be 1 to 20 letters, digits, '_' or '-'")
        return value

    @model_validator(mode="after")
    def _credentials_complete(self) -> Settings:
        have = {
            "OPERA_CLIENT_ID": bool(self.client_id),
            "OPERA_CLIENT_SECRET": self.client_secret is not None and bool(self.client_secret.get_secret_value()),
            "OPERA_BASE_URL": bool(self.base_url),
        }
        if any(have.values()) and not all(have.values()):
            missing = ", ".join(name for name, ok in have.items() if not ok)
            raise ValueError(f"credentials are half set: {missing} missing (set all three, or none for the sandbox)")
        if all(have.values()):
            if self.app_key is None or not self.app_key.get_secret_value():
                raise ValueError("OPERA_APP_KEY is required with real OHIP credentials (the x-app-key header)")
            if self.grant_type == "password" and not (self.username and self.password):
                raise ValueError("OPERA_GRANT_TYPE=password needs OPERA_USERNAME and OPERA_PASSWORD")
            if self.grant_type == "client_credentials" and not self.enterprise_id:
                # OCIM refuses a client_credentials token without the enterpriseId header (REAL-OPERA.md 2a).
                raise ValueError("OPERA_ENTERPRISE_ID is required with OPERA_GRANT_TYPE=client_credentials "
                                 "(the enterpriseId header of the token request; OPERA_GRANT_TYPE=password needs none)")
            if self.cashier_id is None and not self.read_only and set(self.toolsets) & set(CASHIER_TOOLSETS):
                # Every Oracle sample of postBillingPayment, generateFolio and postCheckOut names a cashierId
                # (REAL-OPERA.md rows 25-27); without one the first payment or check-out would fail at the desk.
                raise ValueError("OPERA_CASHIER_ID is required with real OHIP credentials when the billing or "
                                 "front_desk toolset is on (the OPERA cashier payments and check-outs are posted "
                                 "under; or set OPERA_READ_ONLY=true)")
        return self

    # --- derived -------------------------------------------------------------------------------------------
    @property
    def drain_timeout(self) -> float:
        """How long in-flight calls may run after SIGTERM: one queued, unretried OHIP write plus a margin."""
        if self.graceful_shutdown_timeout is not None:
            return self.graceful_shutdown_timeout
        return self.limiter_max_wait + self.request_timeout + 5.0

    @property
    def shared_state(self) -> bool:
        """Several replicas share token, idempotency, limiter and cache through Redis."""
        return self.redis_url is not None

    @property
    def cache_ttls(self) -> dict[str, float]:
        """The TTL of each business kind of cached answer (app/opera/cache.py BUSINESS_KINDS)."""
        return {
            "availability": self.cache_ttl_availability, "rooms": self.cache_ttl_rooms,
            "reservations": self.cache_ttl_reservations, "reservation": self.cache_ttl_reservation,
            "profiles": self.cache_ttl_profiles, "business": self.cache_ttl_rooms,
        }

    @property
    def event_hotels(self) -> list[str]:
        """The hotels whose business events the poller reads."""
        return self.business_events_hotels or [self.default_hotel_id]

    @property
    def sandbox_mode(self) -> bool:
        """True when no OHIP credentials are configured: the embedded sandbox is served and used."""
        return not self.client_id

    @property
    def is_loopback_bind(self) -> bool:
        if self.host == "localhost":
            return True
        try:
            return ipaddress.ip_address(self.host).is_loopback
        except ValueError:
            return False

    @property
    def effective_base_url(self) -> str:
        if self.base_url:
            return self.base_url
        host = "127.0.0.1" if self.host in ("0.0.0.0", "::", "localhost") else self.host
        if ":" in host:
            host = f"[{host}]"
        return f"http://{host}:{self.port}{SANDBOX_PATH}"

    @property
    def effective_token_url(self) -> str:
        return self.token_url or f"{self.effective_base_url}/oauth/v1/tokens"

    @property
    def effective_client_id(self) -> str:
        return self.client_id or SANDBOX_CLIENT_ID

    @property
    def effective_client_secret(self) -> SecretStr:
        return self.client_secret or SecretStr(SANDBOX_CLIENT_SECRET)

    @property
    def effective_app_key(self) -> SecretStr:
        return self.app_key or SecretStr(SANDBOX_APP_KEY)

    @property
    def effective_enterprise_id(self) -> str | None:
        """The `enterpriseId` header value: the configured one, or the embedded sandbox's in sandbox mode."""
        return self.enterprise_id or (SANDBOX_ENTERPRISE_ID if self.sandbox_mode else None)

    @property
    def effective_cashier_id(self) -> int | None:
        """The `cashierId` sent on payments, folios and check-outs: the configured one, or the embedded sandbox's
        app cashier in sandbox mode."""
        if self.cashier_id is not None:
            return self.cashier_id
        return SANDBOX_CASHIER_ID if self.sandbox_mode else None

    @property
    def mode(self) -> Literal["sandbox", "ohip"]:
        return "sandbox" if self.sandbox_mode else "ohip"

    def masked(self) -> dict[str, Any]:
        """The effective configuration as OPERA_* names, secrets shown as '********'."""
        out: dict[str, Any] = {}
        for name, info in type(self).model_fields.items():
            value = getattr(self, name)
            if isinstance(value, SecretStr):
                value = "********" if value.get_secret_value() else ""
            elif name == "mcp_api_keys" and value:
                value = "********"
            elif isinstance(value, (Path, date)):
                value = str(value)
            alias = info.validation_alias
            out[alias if isinstance(alias, str) else ENV_PREFIX + name.upper()] = value
        out["(mode)"] = self.mode
        out["(base url used)"] = self.effective_base_url
        out["(token url used)"] = self.effective_token_url
        out["(cashier used)"] = self.effective_cashier_id
        return out


def _describe(error: ValidationError) -> str:
    first = error.errors()[0]
    loc = [str(part) for part in first.get("loc", ()) if part != "__root__"]
    msg = str(first.get("msg", "invalid value"))
    msg = msg.removeprefix("Value error, ")
    if loc:
        field = Settings.model_fields.get(loc[0])
        alias = field.validation_alias if field else None
        if isinstance(alias, str):
            name = alias
        elif loc[0].isupper():
            name = loc[0]
        else:
            name = ENV_PREFIX + loc[0].upper()
        raw = first.get("input")
        secret = any(word in name for word in ("SECRET", "PASSWORD", "KEY", "TOKEN"))
        shown = f" (got {raw!r})" if isinstance(raw, (str, int, float)) and not secret else ""
        return f"configuration error: {name}: {msg}{shown}"
    return f"configuration error: {msg}"


def load_settings(**overrides: Any) -> Settings:
    """Read the environment (plus explicit overrides such as --port) or raise ConfigError with one line."""
    try:
        return Settings(**overrides)
    except ValidationError as exc:
        raise ConfigError(_describe(exc)) from None
