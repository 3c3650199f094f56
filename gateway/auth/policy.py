"""The authorization policy: which callers exist, their tenant, what they may call.

Loaded once at start-up from a TOML file; a file the gateway cannot fully understand stops
the start with a message naming the problem::

    [callers."jwt:https://issuer.example#agent-a"]   # caller ids: gateway.auth.caller_ids
    tenant = "acme"
    allow = ["email.send", "stripe.*", "*.get_*"]   # connector.operation patterns (fnmatch)
    operator = false             # operators list, approve and deny the tenant's approvals

Caller ids name how the caller was proven (``jwt:<issuer>#<sub>``, ``spiffe://...``,
``uri:<uri>``, ``cert:<common name>``); plain names are development callers only.
The tenant of every call comes from here, never from the request.
"""

from __future__ import annotations

import tomllib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from fnmatch import fnmatchcase
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, StrictBool, ValidationError, field_validator

from gateway.auth.caller_ids import shape_problem
from gateway.errors import CallerNotAllowed, OperatorRequired
from gateway.identity import Identity

DEVELOPMENT_TENANT = "default"
ALLOW_ALL = "*.*"


def _show(value: str) -> str:
    text = repr(value)
    return text if len(text) <= 130 else text[:126] + "...'"


def _check_pattern(pattern: str) -> str:
    connector, dot, operation = pattern.partition(".")
    if not dot or not connector or not operation or "." in operation:
        raise ValueError(
            f"allow pattern {pattern!r} must be 'connector.operation', wildcards allowed "
            "(for example 'email.send', 'stripe.*' or '*.*')"
        )
    return pattern


class _CallerEntry(BaseModel):
    model_config = ConfigDict(extra="forbid")

    tenant: str = Field(min_length=1)
    allow: list[str] = Field(default_factory=list)
    operator: StrictBool = False

    @field_validator("allow")
    @classmethod
    def _patterns(cls, value: list[str]) -> list[str]:
        return [_check_pattern(pattern) for pattern in value]


class _PolicyFile(BaseModel):
    model_config = ConfigDict(extra="forbid")

    callers: dict[str, _CallerEntry] = Field(min_length=1)

    @field_validator("callers")
    @classmethod
    def _caller_ids(cls, value: dict[str, _CallerEntry]) -> dict[str, _CallerEntry]:
        for caller in value:
            if not caller.strip() or caller != caller.strip():
                raise ValueError(f"caller id {caller!r} is empty or has surrounding spaces")
            problem = shape_problem(caller)
            if problem is not None:
                raise ValueError(problem)
        return value


def _describe(error: ValidationError) -> str:
    problems = []
    for item in error.errors():
        where = ".".join(str(part) for part in item["loc"]) or "(file)"
        if item["type"] == "extra_forbidden":
            message = "unknown key"
        elif item["type"] == "missing":
            message = "required key is missing"
        else:
            message = item["msg"].removeprefix("Value error, ")
        problems.append(f"{where}: {message}")
    return "; ".join(problems)


@dataclass(frozen=True)
class CallerRule:
    """One caller of the policy."""

    caller: str
    tenant: str
    allow: tuple[str, ...]
    operator: bool = False

    def allows(self, connector_key: str, operation: str) -> bool:
        for pattern in self.allow:
            connector_pattern, _, operation_pattern = pattern.partition(".")
            if fnmatchcase(connector_key, connector_pattern) and fnmatchcase(
                operation, operation_pattern
            ):
                return True
        return False


class AuthorizationPolicy:
    """Maps an authenticated caller to its identity, and decides what it may call."""

    def __init__(self, rules: Iterable[CallerRule]) -> None:
        self._rules: dict[str, CallerRule] = {}
        for rule in rules:
            if rule.caller in self._rules:
                raise ValueError(f"caller {rule.caller!r} is in the policy twice")
            for pattern in rule.allow:
                _check_pattern(pattern)
            self._rules[rule.caller] = rule

    @classmethod
    def load(cls, path: Path) -> AuthorizationPolicy:
        """Reads the policy file; raises ValueError naming the file and the problem."""
        try:
            text = path.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as error:
            reason = error.strerror if isinstance(error, OSError) else "not UTF-8 text"
            raise ValueError(f"authorization policy {path}: cannot be read: {reason}") from None
        try:
            return cls.parse(tomllib.loads(text))
        except tomllib.TOMLDecodeError as error:
            raise ValueError(f"authorization policy {path}: not valid TOML: {error}") from None
        except ValueError as error:
            raise ValueError(f"authorization policy {path}: {error}") from None

    @classmethod
    def parse(cls, document: Mapping[str, Any]) -> AuthorizationPolicy:
        """Builds the policy from the parsed TOML document; raises ValueError."""
        try:
            parsed = _PolicyFile.model_validate(document)
        except ValidationError as error:
            raise ValueError(_describe(error)) from None
        return cls(
            CallerRule(caller, entry.tenant, tuple(entry.allow), entry.operator)
            for caller, entry in parsed.callers.items()
        )

    @classmethod
    def development(
        cls, dev_caller: str = "local-agent", dev_operator: str = "local-operator"
    ) -> AuthorizationPolicy:
        """Local development: one agent and one operator, tenant ``default``, all allowed."""
        return cls(
            [
                CallerRule(dev_caller, DEVELOPMENT_TENANT, (ALLOW_ALL,), operator=False),
                CallerRule(dev_operator, DEVELOPMENT_TENANT, (ALLOW_ALL,), operator=True),
            ]
        )

    @property
    def callers(self) -> tuple[str, ...]:
        return tuple(self._rules)

    @property
    def tenants(self) -> tuple[str, ...]:
        """Every tenant some caller belongs to, sorted."""
        return tuple(sorted({rule.tenant for rule in self._rules.values()}))

    def rule(self, caller: str) -> CallerRule | None:
        return self._rules.get(caller)

    def identity_for(self, caller: str, token_tenant: str | None) -> Identity:
        """The identity of an authenticated caller; the tenant comes from the policy.

        ``token_tenant`` is the tenant a bearer token claims, if any: it must be the
        policy's tenant for the caller.
        """
        rule = self._rules.get(caller)
        if rule is None:
            raise CallerNotAllowed(
                f"caller {_show(caller)} is not in the authorization policy; ask an operator "
                "to add it",
                metadata={"caller": caller},
            )
        if token_tenant is not None and token_tenant != rule.tenant:
            raise CallerNotAllowed(
                f"the bearer token of caller {_show(caller)} claims tenant "
                f"{_show(token_tenant)}, but the authorization policy puts this caller in "
                f"another tenant; get a token for the caller's own tenant",
                metadata={"caller": caller},
            )
        return Identity(caller=rule.caller, tenant=rule.tenant, operator=rule.operator)

    def may_call(self, identity: Identity, connector_key: str, operation: str) -> bool:
        rule = self._rules.get(identity.caller)
        return (
            rule is not None
            and rule.tenant == identity.tenant
            and rule.allows(connector_key, operation)
        )

    def check_call(self, identity: Identity, connector_key: str, operation: str) -> None:
        """Raises CallerNotAllowed unless the policy allows the caller this operation."""
        if not self.may_call(identity, connector_key, operation):
            raise CallerNotAllowed(
                f"caller {_show(identity.caller)} may not call {connector_key}.{operation}: "
                "the authorization policy does not allow it; ask an operator to allow it",
                metadata={
                    "caller": identity.caller,
                    "connector_key": connector_key,
                    "operation": operation,
                },
            )

    def check_operator(self, identity: Identity) -> None:
        """Raises OperatorRequired unless the caller is an operator of its tenant."""
        rule = self._rules.get(identity.caller)
        if rule is None or not rule.operator or rule.tenant != identity.tenant:
            raise OperatorRequired(
                f"caller {_show(identity.caller)} is not an operator: listing, approving and "
                "denying approvals needs operator = true in the authorization policy",
                metadata={"caller": identity.caller},
            )
