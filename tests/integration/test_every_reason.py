"""Every reason docs/errors.md documents, produced over the wire against a real gateway.

The contract each refusal is held to is read from the document itself: its status code (and
HTTP status), every metadata key it lists, the retry delay of retryable reasons, the fields
a ``BadRequest`` names, and the audit row. The scenarios (``tests/integration/reasons/``)
check the values against what happened: the vendor's records, the ids handed out.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from gateway import errors
from tests.integration.reasons import (
    approvals,
    executions,
    http,
    identity,
    metrics,
    requests,
    vendors,
)
from tests.integration.reasons.observe import Observed, Scenario
from tests.support.documented_errors import DocumentedReason, documented_reasons

DOCUMENTED = documented_reasons()
FAMILIES = (requests, identity, approvals, executions, vendors, http, metrics)


def all_scenarios() -> dict[str, Scenario]:
    merged: dict[str, Scenario] = {}
    for family in FAMILIES:
        for reason, scenario in family.SCENARIOS.items():
            assert reason not in merged, f"{reason} has two scenarios"
            merged[reason] = scenario
    return merged


SCENARIOS = all_scenarios()


def raised_reasons() -> dict[str, str]:
    """The reason of every error class the gateway raises (the leaves of its hierarchy)."""
    found: dict[str, str] = {}
    pending: list[type[errors.GatewayError]] = [errors.GatewayError]
    while pending:
        cls = pending.pop()
        subclasses = cls.__subclasses__()
        if not subclasses:
            found[cls.__name__] = cls.reason
        pending.extend(subclasses)
    return found


def test_every_documented_reason_has_a_scenario() -> None:
    assert sorted(set(DOCUMENTED) - set(SCENARIOS)) == []
    assert sorted(set(SCENARIOS) - set(DOCUMENTED)) == []


def test_every_reason_the_gateway_raises_is_documented() -> None:
    undocumented = {name: r for name, r in raised_reasons().items() if r not in DOCUMENTED}
    assert undocumented == {}


def holds_to_the_contract(seen: Observed, documented: DocumentedReason) -> None:
    assert (seen.code, seen.reason) == (documented.code, documented.reason), seen
    if seen.http_status is None:
        assert seen.domain == errors.DOMAIN
    else:
        assert documented.http_status is not None, f"{documented.reason} over HTTP"
        assert seen.http_status == documented.http_status
    for key in documented.metadata_keys:
        assert seen.metadata.get(key), f"{documented.reason} without metadata {key!r}: {seen}"
    if documented.retryable:
        assert seen.retry_delay_ms is not None, f"{documented.reason} names no delay"
        if seen.http_status is None:
            assert seen.pushback_ms == str(seen.retry_delay_ms)
        if documented.waits_for_the_delay:
            assert seen.retry_delay_ms > 0
    else:
        assert seen.retry_delay_ms is None, f"{documented.reason} is not to be retried"
        assert seen.pushback_ms is None
    if documented.names_fields:
        assert seen.fields, f"{documented.reason} without BadRequest"
    recorded = [row for row in seen.audit_rows if row["reason"] == documented.reason]
    if documented.leaves_audit_row:
        assert recorded, f"{documented.reason} left no audit row"
        row = recorded[-1]
        assert row["status_code"] == documented.code.name
        assert row["outcome"] in ("refused", "failed", "unknown")
    else:
        assert recorded == []


@pytest.mark.parametrize("reason", sorted(DOCUMENTED))
async def test_reason_is_answered_as_documented(reason: str, tmp_path: Path) -> None:
    seen = await SCENARIOS[reason](tmp_path)
    holds_to_the_contract(seen, DOCUMENTED[reason])
