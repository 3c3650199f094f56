"""Gateway configuration: embedded defaults, overridden by a TOML file and the environment.

Environment variables start with ``CONNECTOR_GATEWAY_`` and use ``__`` for nesting, for example
``CONNECTOR_GATEWAY_EMAIL__HOST=smtp.example.com``. ``CONNECTOR_GATEWAY_CONFIG`` names an
optional TOML file. Secrets may be given directly or as ``*_file`` paths (Kubernetes secrets).
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, SecretStr, field_validator
from pydantic_settings import (
    BaseSettings,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
    TomlConfigSettingsSource,
)

from gateway.auth.settings import AuthSettings
from gateway.contract import PolicyClass


def read_secret(value: SecretStr | None, file: Path | None) -> str | None:
    """The secret given directly, else the first line of its file, else None."""
    if value is not None and value.get_secret_value():
        return value.get_secret_value()
    if file is not None:
        return file.read_text(encoding="utf-8").strip() or None
    return None


class EmailSettings(BaseModel):
    """SMTP relay used by the ``email`` connector; unset host means not configured."""

    host: str | None = None
    port: int = Field(default=587, ge=1, le=65535)
    security: Literal["none", "starttls", "tls"] = "starttls"
    username: str | None = None
    password: SecretStr | None = None
    password_file: Path | None = None
    from_address: str | None = None
    ca_file: Path | None = None  # extra CA bundle, for relays with a private CA

    def resolved_password(self) -> str | None:
        return read_secret(self.password, self.password_file)


class AuditSettings(BaseModel):
    anchor_every_rows: int = Field(default=100, ge=1)
    anchor_every_s: float = Field(default=10.0, gt=0)
    anchor_key: SecretStr | None = None
    anchor_key_file: Path | None = None
    max_batch: int = Field(default=256, ge=1)
    # Unauthenticated refusals keep a row each within this budget per peer (token bucket);
    # beyond it they are counted into one refusals_summarized row per peer and interval.
    unauthenticated_refusals_per_s: float = Field(default=1.0, gt=0)
    unauthenticated_refusals_burst: int = Field(default=20, ge=1)
    refusal_summary_every_s: float = Field(default=60.0, gt=0)


class PolicySettings(BaseModel):
    """Deployment policy: classes may be tightened; only local development may loosen them."""

    overrides: dict[str, PolicyClass] = Field(default_factory=dict)  # "connector.operation"
    allow_loosening: bool = False  # local development only: lets a B operation be tried as A

    @field_validator("overrides")
    @classmethod
    def _keys_name_operations(cls, value: dict[str, PolicyClass]) -> dict[str, PolicyClass]:
        for key in value:
            if key.count(".") != 1:
                raise ValueError(f"policy override {key!r} must be 'connector.operation'")
        return value


class RateLimitSettings(BaseModel):
    per_second: float = Field(gt=0)
    burst: int = Field(ge=1)


class ReliabilitySettings(BaseModel):
    """Knobs over every connector's declared retry policy, and the shared guards."""

    backoff_scale: float = Field(default=1.0, ge=0)  # 0.001 in tests: no real sleeping
    retry_jitter: bool = True
    max_retry_after_s: float = Field(default=30.0, ge=0)  # cap on a vendor's Retry-After
    min_attempt_ms: int = Field(default=50, ge=1)  # no attempt starts with less time than this
    breaker_failure_threshold: int = Field(default=5, ge=1)
    breaker_open_s: float = Field(default=30.0, gt=0)
    idempotency_ttl_s: float = Field(default=24 * 3600, gt=0)
    prune_interval_s: float = Field(default=300.0, gt=0)
    # Settled executions (succeeded, failed) are deleted this long after they ended; unknown
    # and compensated ones are kept for good.
    execution_retention_s: float = Field(default=90 * 24 * 3600, gt=0)
    # How long another process sharing the database waits after this one stops renewing its
    # lease before it takes this one's in-flight calls as of unknown outcome.
    lease_s: float = Field(default=30.0, ge=1)
    rate_limits: dict[str, RateLimitSettings] = Field(default_factory=dict)  # by connector key


class TenantSettings(BaseModel):
    """One tenant's own vendor accounts and quotas; nothing falls back to another tenant's."""

    email: EmailSettings | None = None
    rate_limits: dict[str, RateLimitSettings] = Field(default_factory=dict)


class ApprovalSettings(BaseModel):
    """The two clocks of an approval, and the SLA of the human response."""

    pending_ttl_s: float = Field(default=24 * 3600, gt=0)
    use_within_s: float = Field(default=3600, gt=0)
    sla_warning_s: float = Field(default=4 * 3600, gt=0)
    sla_breach_s: float = Field(default=24 * 3600, gt=0)
    expiry_sweep_s: float = Field(default=30, gt=0)  # how often expired requests are recorded
    # Bounds. A caller with this many requests pending is refused new ones; settled approvals
    # (denied, used, expired) are deleted this long after they settled; pruning runs this often.
    max_pending_per_caller: int = Field(default=100, ge=1)
    retention_s: float = Field(default=90 * 24 * 3600, gt=0)
    prune_interval_s: float = Field(default=3600, gt=0)


class HealthSettings(BaseModel):
    consecutive_failures_for_error: int = Field(default=1, ge=1)
    probe_interval_s: float = Field(default=60.0, ge=0)  # 0: no live probes


class HttpSettings(BaseModel):
    """The HTTP side: the host names it answers to, development sign-in sessions, and bounds
    on connections and requests (aiohttp has no header timeout or connection cap of its own).
    """

    model_config = ConfigDict(extra="forbid")

    # Host names (port ignored) accepted in Host and Origin. Empty: loopback names in
    # development mode; in enforced mode the host of http_address, or any when that is a
    # wildcard address (logged at start-up).
    allowed_hosts: list[str] = Field(default_factory=list)
    header_timeout_s: float = Field(default=10.0, gt=0)  # a request's headers must arrive within
    idle_timeout_s: float = Field(default=60.0, gt=0)  # keep-alive: idle this long, closed
    body_timeout_s: float = Field(default=10.0, gt=0)  # a request's body must arrive within
    max_body_bytes: int = Field(default=64 * 1024, ge=1024)  # larger bodies: PAYLOAD_TOO_LARGE
    max_connections: int = Field(default=256, ge=1)  # beyond this, new connections get 503
    session_ttl_s: float = Field(default=12 * 3600, gt=0)  # development sign-in cookie lifetime


class Settings(BaseSettings):
    model_config = SettingsConfigDict(
        env_prefix="CONNECTOR_GATEWAY_",
        env_nested_delimiter="__",
        extra="forbid",
    )

    grpc_address: str = "127.0.0.1:50051"
    http_address: str = "127.0.0.1:8080"
    http_open_reads: bool = False  # let anyone on the network read the board's health JSON
    http: HttpSettings = Field(default_factory=HttpSettings)
    data_dir: Path = Path("var")
    max_payload_bytes: int = Field(default=1024 * 1024, ge=1024)
    deadline_reserve_ms: int = Field(default=50, ge=0)
    max_call_deadline_ms: int = Field(default=30_000, ge=1)
    shutdown_grace_s: float = Field(default=10.0, ge=0)
    trace_sample_ratio: float = Field(default=1.0, ge=0, le=1)
    otlp_endpoint: str | None = None  # e.g. "127.0.0.1:4317": export spans to a collector
    otlp_insecure: bool = False  # plaintext to the collector (a node-local agent)
    email: EmailSettings = Field(default_factory=EmailSettings)
    audit: AuditSettings = Field(default_factory=AuditSettings)
    policy: PolicySettings = Field(default_factory=PolicySettings)
    health: HealthSettings = Field(default_factory=HealthSettings)
    reliability: ReliabilitySettings = Field(default_factory=ReliabilitySettings)
    auth: AuthSettings = Field(default_factory=AuthSettings)
    approvals: ApprovalSettings = Field(default_factory=ApprovalSettings)
    # Tenants other than "default", whose accounts are the top-level ones (email, ...).
    tenants: dict[str, TenantSettings] = Field(default_factory=dict)

    @property
    def database_path(self) -> Path:
        return self.data_dir / "gateway.db"

    @property
    def max_receive_bytes(self) -> int:
        # Room for the envelope around the payload; larger messages are refused by grpcio
        # itself with RESOURCE_EXHAUSTED before any of the gateway's code runs.
        return self.max_payload_bytes + 64 * 1024

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        sources: list[PydanticBaseSettingsSource] = [init_settings, env_settings]
        config_file = os.environ.get("CONNECTOR_GATEWAY_CONFIG")
        if config_file:
            sources.append(TomlConfigSettingsSource(settings_cls, toml_file=Path(config_file)))
        return tuple(sources)
