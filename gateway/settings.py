"""Gateway configuration: embedded defaults, overridden by a TOML file and the environment.

Environment variables start with ``CONNECTOR_GATEWAY_`` and use ``__`` for nesting, for example
``CONNECTOR_GATEWAY_EMAIL__HOST=smtp.example.com``. ``CONNECTOR_GATEWAY_CONFIG`` names an
optional TOML file. Secrets may be given directly or as ``*_file`` paths (Kubernetes secrets).
"""

from __future__ import annotations

import os
import tomllib
from collections.abc import Iterable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    SecretStr,
    ValidationError,
    create_model,
    field_validator,
)
from pydantic_core import ErrorDetails
from pydantic_settings import (
    BaseSettings,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
    TomlConfigSettingsSource,
)

from adapters.plugins import PLUGINS
from gateway.auth.settings import AuthSettings
from gateway.contract import PolicyClass
from gateway.dictionary.settings import DictionarySettings
from gateway.sandbox import SandboxFault

if TYPE_CHECKING:
    from gateway.plugin import ConnectorPlugin


class Section(BaseModel):
    """A part of the settings: a key it does not know is a mistake (a typo would otherwise
    leave the default in place without a word), so it stops the start, naming the key."""

    model_config = ConfigDict(extra="forbid")


class AuditSettings(Section):
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


class PolicySettings(Section):
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


class RateLimitSettings(Section):
    per_second: float = Field(gt=0)
    burst: int = Field(ge=1)


class ReliabilitySettings(Section):
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


class TenantSettings(Section):
    """One tenant's own quotas and (in the model ``settings_model`` builds) its own vendor
    accounts, one field per connector; nothing falls back to another tenant's."""

    rate_limits: dict[str, RateLimitSettings] = Field(default_factory=dict)


class ApprovalSettings(Section):
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


class HealthSettings(Section):
    """How each connector's status is derived (``gateway.health_rules``): live probes in the
    background, a window of recent calls, and the circuit breaker."""

    probe_interval_s: float = Field(default=60.0, ge=0)  # 0: no live probes
    # Each wait between probe rounds is the interval give or take this share, drawn afresh,
    # so that replicas started together do not probe a vendor in step.
    probe_jitter: float = Field(default=0.1, ge=0, lt=1)
    probe_timeout_s: float = Field(default=10.0, gt=0)  # a probe still running is a failure
    # error once this many probes in a row failed (one failed probe: degraded)
    probe_failures_for_error: int = Field(default=2, ge=1)
    # The recent window: the last window_calls calls that reached the vendor, of the last
    # window_s seconds. degraded once this share of them failed for the vendor's fault.
    window_calls: int = Field(default=20, ge=1)
    window_s: float = Field(default=600.0, gt=0)
    degraded_failure_ratio: float = Field(default=0.2, gt=0, le=1)


class SandboxSettings(Section):
    """The vendors' sandboxes: a connector acts at its vendor's sandbox for a tenant without a
    vendor account of its own. Enforced mode runs none unless ``allow_in_enforced_mode``."""

    allow_in_enforced_mode: bool = False
    # By connector key: make that connector's sandbox fail on purpose (gateway.sandbox).
    fail: dict[str, SandboxFault] = Field(default_factory=dict)


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


ENV_PREFIX = "CONNECTOR_GATEWAY_"
CONFIG_VARIABLE = "CONNECTOR_GATEWAY_CONFIG"


class CoreSettings(BaseSettings):
    """The gateway's own settings. The model actually loaded (``Settings``) adds each
    connector's account: see ``settings_model``."""

    model_config = SettingsConfigDict(
        env_prefix=ENV_PREFIX,
        env_nested_delimiter="__",
        extra="forbid",
        # A mistake's message names the setting, never its value: the value may be a secret
        # set under a mistyped name (an API key as ``api_kye``) and would reach the logs.
        hide_input_in_errors=True,
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
    audit: AuditSettings = Field(default_factory=AuditSettings)
    policy: PolicySettings = Field(default_factory=PolicySettings)
    health: HealthSettings = Field(default_factory=HealthSettings)
    reliability: ReliabilitySettings = Field(default_factory=ReliabilitySettings)
    auth: AuthSettings = Field(default_factory=AuthSettings)
    approvals: ApprovalSettings = Field(default_factory=ApprovalSettings)
    sandbox: SandboxSettings = Field(default_factory=SandboxSettings)
    # The metric dictionary's business databases and reporting currency.
    dictionary: DictionarySettings = Field(default_factory=DictionarySettings)
    # Each tenant's own accounts and quotas. The default tenant's accounts are the top-level
    # ones (email, ...), unless an entry for "default" names its own.
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
        config_file = os.environ.get(CONFIG_VARIABLE)
        if config_file:
            # pydantic-settings reads a missing file as an empty one: the gateway would start
            # on its defaults (development mode) because of a typo in a path.
            if not Path(config_file).is_file():
                raise SettingsError(f"{CONFIG_VARIABLE} names {config_file}, which is not a file")
            try:
                source = TomlConfigSettingsSource(settings_cls, toml_file=Path(config_file))
            except tomllib.TOMLDecodeError as error:
                raise SettingsError(f"{config_file} is not valid TOML: {error}") from None
            sources.append(source)
        return tuple(sources)


class SettingsError(ValueError):
    """The settings cannot be loaded: what is wrong and where, never a setting's value."""


def load_settings() -> Settings:
    """The settings from the environment and the configuration file, or ``SettingsError``
    naming every mistake (each setting by its path and its environment variable)."""
    try:
        return Settings()
    except ValidationError as error:
        problems = "\n".join(_problem(detail) for detail in error.errors(include_input=False))
        raise SettingsError(
            f"the settings are invalid ({error.error_count()} mistake(s)):\n{problems}"
        ) from None


def _problem(detail: ErrorDetails) -> str:
    path = ".".join(str(part) for part in detail["loc"])
    variable = ENV_PREFIX + "__".join(str(part) for part in detail["loc"]).upper()
    return f"  {path} (variable {variable}): {detail['msg']}"


def settings_model(plugins: Iterable[ConnectorPlugin[Any]]) -> type[CoreSettings]:
    """The settings model of a gateway serving ``plugins``: the core settings, and each
    connector's account (validated by the plugin's own model) under its key at the top level
    (tenant ``default``) and under ``tenants.<name>``."""
    accounts: dict[str, Any] = {}
    for plugin in plugins:
        if plugin.account_model is None:
            continue
        key = plugin.key
        if (
            key in accounts
            or key in CoreSettings.model_fields
            or key in TenantSettings.model_fields
        ):
            raise ValueError(f"connector {key!r} would take a settings key already in use")
        accounts[key] = (plugin.account_model | None, None)
    tenant_model = create_model(
        "TenantSettings", __base__=TenantSettings, __module__=__name__, **accounts
    )
    tenants: Any = dict[str, tenant_model]
    return create_model(
        "Settings",
        __base__=CoreSettings,
        __module__=__name__,
        tenants=(tenants, Field(default_factory=dict)),
        **accounts,
    )


# Type checkers see the core settings; at run time the model also holds the account of every
# connector in adapters/plugins.py (read one with ``ConnectorPlugin.account_of``).
if TYPE_CHECKING:
    Settings = CoreSettings
else:
    Settings = settings_model(PLUGINS)
