"""Who calls: credentials, the authorization policy and operator rights (enforced mode)."""

from __future__ import annotations

import time
from pathlib import Path

from connectorgateway.v1 import approval_service_pb2 as apb
from tests.integration.reasons.observe import (
    Observed,
    Scenario,
    approvals,
    echo,
    enforced_rig,
    refused_rpc,
)
from tests.support.tokens import ISSUER, caller, forged_token

Metadata = tuple[tuple[str, str], ...]


async def refused_execute(tmp_path: Path, metadata: Metadata | None, **claims: object) -> Observed:
    """Execute with the given metadata, or with a token of ``agent-acme`` and these claims."""
    async with enforced_rig(tmp_path) as (gw, kit, fake):
        sent = metadata if metadata is not None else kit.metadata("agent-acme", **claims)
        seen = await refused_rpc(gw.stub.Execute(echo("k1"), metadata=sent, timeout=10), gw)
        assert fake.calls == []
        assert "Bearer" not in str(seen.audit_rows)  # no token reaches the audit trail
        return seen


async def credentials_missing(tmp_path: Path) -> Observed:
    return await refused_execute(tmp_path, ())


async def token_invalid(tmp_path: Path) -> Observed:
    forged = (("authorization", f"Bearer {forged_token('agent-acme')}"),)
    return await refused_execute(tmp_path, forged)


async def token_expired(tmp_path: Path) -> Observed:
    return await refused_execute(tmp_path, None, exp=int(time.time()) - 60)


async def token_wrong_audience(tmp_path: Path) -> Observed:
    return await refused_execute(tmp_path, None, aud="another-service")


async def token_wrong_issuer(tmp_path: Path) -> Observed:
    seen = await refused_execute(tmp_path, None, iss="https://elsewhere.test")
    assert ISSUER in seen.message  # names the issuer to get a token from
    return seen


async def caller_not_allowed(tmp_path: Path) -> Observed:
    async with enforced_rig(tmp_path) as (gw, kit, fake):
        # This caller may only send email.
        sent = kit.metadata("agent-mail-only")
        seen = await refused_rpc(gw.stub.Execute(echo("k1"), metadata=sent, timeout=10), gw)
        assert seen.metadata == {
            "caller": caller("agent-mail-only"),
            "connector_key": "fake",
            "operation": "echo",
        }
        assert seen.metadata["caller"] in seen.message
        assert seen.audit_row()["caller"] == caller("agent-mail-only")
        assert fake.calls == []
        return seen


async def operator_required(tmp_path: Path) -> Observed:
    async with enforced_rig(tmp_path) as (gw, kit, _):
        listing = approvals(gw).ListApprovals(
            apb.ListApprovalsRequest(), metadata=kit.metadata("agent-acme"), timeout=10
        )
        seen = await refused_rpc(listing, gw)
        assert seen.metadata == {"caller": caller("agent-acme")}
        return seen


SCENARIOS: dict[str, Scenario] = {
    "CREDENTIALS_MISSING": credentials_missing,
    "TOKEN_INVALID": token_invalid,
    "TOKEN_EXPIRED": token_expired,
    "TOKEN_WRONG_AUDIENCE": token_wrong_audience,
    "TOKEN_WRONG_ISSUER": token_wrong_issuer,
    "CALLER_NOT_ALLOWED": caller_not_allowed,
    "OPERATOR_REQUIRED": operator_required,
}
