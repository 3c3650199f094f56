"""The DocuSign sandbox with the real contract_intel adapter: the JWT grant and user-info
with each tenant's own key pair, envelopes sent, read, found by their marker and voided,
Navigator's sample agreements page by page, each API's error shape, and each kind of
configured fault."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import AbstractAsyncContextManager
from typing import Any

import aiohttp
import pytest

from adapters.contract_intel.account import ContractIntelAccount
from adapters.contract_intel.adapter import ContractIntelAdapter
from adapters.contract_intel.operations import (
    GetAgreement,
    GetEnvelope,
    ListAgreements,
    SendEnvelope,
    VoidEnvelope,
)
from adapters.contract_intel.sandbox import ContractIntelSandbox
from adapters.contract_intel.sandbox_envelopes import TEMPLATES
from adapters.shared.jwt_grant import GRANT_TYPE, jwt_assertion
from gateway.errors import VendorAuthFailed, VendorRateLimited, VendorRejected
from gateway.sandbox import SandboxFault
from tests.adapters.contract_intel.support import MARKER, ctx
from tests.support.vendor_adapters import failure, serving, tenant_adapters

pytestmark = pytest.mark.timeout(20)

Build = Callable[[str], Awaitable[ContractIntelAdapter]]
SEND = {
    "emailSubject": "Please sign the NDA",
    "documents": [{"documentId": "1", "name": "NDA", "documentBase64": "JVBERi0x"}],
    "recipients": {
        "signers": [{"email": "sara@example.com", "name": "Sara Ali", "recipientId": "1"}],
        "carbonCopies": [{"email": "legal@example.com", "name": "Legal", "recipientId": "2"}],
    },
}
FROM_TEMPLATE = {
    "emailSubject": "Your order form",
    "templateId": next(iter(TEMPLATES)),
    "templateRoles": [{"roleName": "Signer", "name": "Omar", "email": "omar@example.com"}],
}


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def running(
    fault: SandboxFault | None = None, clock: Clock | None = None
) -> AbstractAsyncContextManager[ContractIntelSandbox]:
    return serving(ContractIntelSandbox(fault, clock=clock or Clock()))


def adapters_at(sandbox: ContractIntelSandbox) -> AbstractAsyncContextManager[Build]:
    return tenant_adapters(sandbox, ContractIntelAdapter)


@pytest.fixture
async def sandbox() -> AsyncIterator[ContractIntelSandbox]:
    async with running() as started:
        yield started


@pytest.fixture
async def build(sandbox: ContractIntelSandbox) -> AsyncIterator[Build]:
    async with adapters_at(sandbox) as builder:
        yield builder


async def run(
    adapter: ContractIntelAdapter, operation: str, payload: Any, marker: str = ""
) -> dict[str, Any]:
    return dict(await adapter.execute(operation, payload, ctx(marker=marker)))


def pem(account: ContractIntelAccount) -> str:
    assert account.private_key is not None
    return account.private_key.get_secret_value()


async def test_an_envelope_is_sent_read_found_by_its_marker_and_voided(
    sandbox: ContractIntelSandbox, build: Build
) -> None:
    adapter = await build("acme")
    assert (await adapter.health_check()).ok

    sent = await run(adapter, "send_envelope", SendEnvelope.model_validate(SEND), MARKER)
    assert sent["status"] == "sent"
    read = await run(adapter, "get_envelope", GetEnvelope(envelopeId=sent["envelope_id"]))
    assert (read["envelope_id"], read["status"], read["email_subject"]) == (
        sent["envelope_id"],
        "sent",
        "Please sign the NDA",
    )

    lookup = await adapter.reconcile("send_envelope", SendEnvelope.model_validate(SEND), ctx())
    assert (lookup.found, lookup.result["envelope_id"]) == (True, sent["envelope_id"])
    other = await adapter.reconcile(
        "send_envelope", SendEnvelope.model_validate(SEND), ctx(marker="cd" * 32)
    )
    assert other.found is False

    voided = await adapter.compensate("void_envelope", sent, ctx())
    assert dict(voided) == {"envelope_id": sent["envelope_id"], "status": "voided"}
    after = await run(adapter, "get_envelope", GetEnvelope(envelopeId=sent["envelope_id"]))
    assert (after["status"], after["voided_reason"]) == ("voided", "Withdrawn by the sender.")
    void = VoidEnvelope(envelopeId=sent["envelope_id"], voidedReason="again")
    settled = await adapter.reconcile("void_envelope", void, ctx())
    assert settled.found is True
    # Voiding it again is refused by DocuSign; the adapter sees it is voided already.
    assert (await run(adapter, "void_envelope", void))["already_voided"] is True

    assert sandbox.received("acme") == [
        {
            "action": "send",
            "envelope_id": sent["envelope_id"],
            "status": "sent",
            "email_subject": "Please sign the NDA",
            "signers": ["Sara Ali <sara@example.com>"],
            "carbon_copies": ["Legal <legal@example.com>"],
            "documents": ["NDA"],
            "received_at": sandbox.received("acme")[0]["received_at"],
        },
        {
            "action": "void",
            "envelope_id": sent["envelope_id"],
            "voided_reason": "Withdrawn by the sender.",
            "received_at": sandbox.received("acme")[1]["received_at"],
        },
    ]


async def test_an_envelope_from_a_server_template_and_one_from_no_such_template(
    sandbox: ContractIntelSandbox, build: Build
) -> None:
    adapter = await build("acme")
    sent = await run(adapter, "send_envelope", SendEnvelope.model_validate(FROM_TEMPLATE))
    [entry] = sandbox.received("acme")
    assert (entry["envelope_id"], entry["template"], entry["signers"]) == (
        sent["envelope_id"],
        TEMPLATES[FROM_TEMPLATE["templateId"]],
        ["Omar <omar@example.com>"],
    )
    unknown = {**FROM_TEMPLATE, "templateId": "00000000-0000-4000-8000-000000000000"}
    refused = await failure(run(adapter, "send_envelope", SendEnvelope.model_validate(unknown)))
    assert isinstance(refused, VendorRejected)
    assert refused.metadata["vendor_code"] == "TEMPLATE_ID_INVALID"
    assert len(sandbox.received("acme")) == 1


async def test_navigator_lists_the_sample_agreements_page_by_page(build: Build) -> None:
    adapter = await build("acme")
    first = await run(adapter, "list_agreements", ListAgreements(limit=2))
    assert len(first["agreements"]) == 2
    assert first["next_ctoken"]
    rest = await run(
        adapter, "list_agreements", ListAgreements(limit=2, ctoken=first["next_ctoken"])
    )
    assert rest["next_ctoken"] is None
    every = first["agreements"] + rest["agreements"]
    assert len({a["id"] for a in every}) == 3
    inactive = await run(adapter, "list_agreements", ListAgreements(status="inactive"))
    assert [a["title"] for a in inactive["agreements"]] == ["Order Form"]

    chosen = every[0]
    read = await run(adapter, "get_agreement", GetAgreement(agreementId=chosen["id"]))
    assert read == chosen
    assert read["provisions"]["effective_date"]
    assert len(read["parties"]) == 2

    missing = await failure(
        run(
            adapter,
            "get_agreement",
            GetAgreement(agreementId="48e593bd-73e8-455f-92e7-7299fef08dea"),
        )
    )
    assert (missing.metadata["vendor_status"], missing.metadata["vendor_message"]) == (
        "404",
        "The agreement was not found.",
    )
    bad_token = await failure(run(adapter, "list_agreements", ListAgreements(ctoken="nope")))
    assert bad_token.metadata["vendor_status"] == "400"


async def test_tenants_have_accounts_and_agreements_of_their_own(
    sandbox: ContractIntelSandbox, build: Build
) -> None:
    acme, globex = sandbox.account_for("acme"), sandbox.account_for("globex")
    assert sandbox.account_for("acme") == acme
    assert (acme.integration_key, acme.user_id) != (globex.integration_key, globex.user_id)
    assert pem(acme) != pem(globex)
    assert pem(acme) not in repr(acme)

    acme_adapter, globex_adapter = await build("acme"), await build("globex")
    sent = await run(acme_adapter, "send_envelope", SendEnvelope.model_validate(SEND))
    other = await failure(
        run(globex_adapter, "get_envelope", GetEnvelope(envelopeId=sent["envelope_id"]))
    )
    assert other.metadata["vendor_code"] == "ENVELOPE_DOES_NOT_EXIST"
    acme_ids = {
        a["id"]
        for a in (await run(acme_adapter, "list_agreements", ListAgreements()))["agreements"]
    }
    globex_ids = {
        a["id"]
        for a in (await run(globex_adapter, "list_agreements", ListAgreements()))["agreements"]
    }
    assert acme_ids.isdisjoint(globex_ids)
    assert sandbox.received("globex") == []


async def test_the_account_server_checks_the_grant_and_tokens_expire() -> None:
    clock = Clock()
    async with running(clock=clock) as sandbox, aiohttp.ClientSession() as client:
        acme, globex = sandbox.account_for("acme"), sandbox.account_for("globex")

        def assertion(signer: ContractIntelAccount, **claims: Any) -> str:
            values: dict[str, Any] = {
                "issuer": acme.integration_key,
                "subject": acme.user_id,
                "audience": "127.0.0.1",
                "private_key_pem": pem(signer),
                "scope": "signature impersonation",
                **claims,
            }
            return jwt_assertion(**values)

        async def grant(signed: str) -> tuple[int, Any]:
            form = {"grant_type": GRANT_TYPE, "assertion": signed}
            async with client.post(f"{sandbox.base_url}/oauth/token", data=form) as answer:
                return answer.status, await answer.json()

        status, body = await grant(assertion(acme))
        assert (status, body["token_type"], body["expires_in"]) == (200, "Bearer", 3600)
        bearer = {"Authorization": f"Bearer {body['access_token']}"}
        async with client.get(f"{sandbox.base_url}/oauth/userinfo", headers=bearer) as info:
            [account] = (await info.json())["accounts"]
        assert (account["is_default"], account["base_uri"]) == (True, sandbox.base_url)
        esign = f"{sandbox.base_url}/restapi/v2.1/accounts/{account['account_id']}"
        async with client.get(esign, headers=bearer) as read:
            assert read.status == 200

        refusals = [
            await grant(assertion(globex)),
            await grant(assertion(acme, subject=globex.user_id)),
            await grant(assertion(acme, issuer=globex.integration_key)),
            await grant(assertion(acme, audience="account-d.docusign.com")),
            await grant(assertion(acme, scope="signature")),
        ]
        assert [(s, b["error"], b.get("error_description")) for s, b in refusals] == [
            (400, "invalid_grant", "no_valid_keys_or_signatures"),
            (400, "invalid_grant", "user_not_found"),
            (400, "invalid_grant", "no_valid_keys_or_signatures"),
            (400, "invalid_grant", "no_valid_keys_or_signatures"),
            (400, "consent_required", "the user has not consented"),
        ]

        clock.now += 3600  # the token's hour is over
        async with client.get(esign, headers=bearer) as expired:
            assert expired.status == 401
            assert (await expired.json())["errorCode"] == "AUTHORIZATION_INVALID_TOKEN"
        navigator = f"{sandbox.base_url}/v1/accounts/{account['account_id']}/agreements"
        async with client.get(navigator, headers=bearer) as plain:
            assert (plain.status, plain.content_type) == (401, "text/plain")
        async with client.get(f"{sandbox.base_url}/oauth/userinfo", headers=bearer) as info:
            assert (info.status, (await info.json())["error"]) == (401, "invalid_token")


async def test_esignature_refuses_what_docusign_refuses(
    sandbox: ContractIntelSandbox, build: Build
) -> None:
    adapter = await build("acme")
    sent = await run(adapter, "send_envelope", SendEnvelope.model_validate(SEND))
    account = sandbox.account_for("acme")
    async with aiohttp.ClientSession() as client:
        signed = jwt_assertion(
            issuer=account.integration_key or "",
            subject=account.user_id or "",
            audience="127.0.0.1",
            private_key_pem=pem(account),
            scope="signature impersonation",
        )
        async with client.post(
            f"{sandbox.base_url}/oauth/token",
            data={"grant_type": GRANT_TYPE, "assertion": signed},
        ) as answer:
            bearer = {"Authorization": f"Bearer {(await answer.json())['access_token']}"}
        async with client.get(f"{sandbox.base_url}/oauth/userinfo", headers=bearer) as info:
            account_id = (await info.json())["accounts"][0]["account_id"]
        envelopes = f"{sandbox.base_url}/restapi/v2.1/accounts/{account_id}/envelopes"

        async def sent_as(method: str, url: str, **kwargs: Any) -> tuple[int, Any]:
            async with client.request(method, url, headers=bearer, **kwargs) as got:
                return got.status, await got.json()

        incomplete = {**SEND, "status": "sent", "emailSubject": ""}
        status, body = await sent_as("POST", envelopes, json=incomplete)
        assert (status, body["errorCode"]) == (400, "ENVELOPE_IS_INCOMPLETE")
        assert set(body) == {"errorCode", "message"}
        status, body = await sent_as("GET", envelopes)  # no from_date
        assert (status, body["errorCode"]) == (400, "INVALID_REQUEST_PARAMETER")
        other_account = envelopes.replace(account_id, "0a1b2c3d-4e5f-4a6b-8c7d-8e9fa0b1c2d3")
        status, body = await sent_as("GET", other_account, params={"from_date": "2020-01-01"})
        assert (status, body["errorCode"]) == (400, "USER_DOES_NOT_BELONG_TO_SPECIFIED_ACCOUNT")

        listed = await sent_as("GET", envelopes, params={"from_date": "2020-01-01"})
        assert [e["envelopeId"] for e in listed[1]["envelopes"]] == [sent["envelope_id"]]
        assert "customFields" not in listed[1]["envelopes"][0]  # only when included

        await adapter.compensate("void_envelope", sent, ctx())
        voided = {"status": "voided", "voidedReason": "twice"}
        status, body = await sent_as("PUT", f"{envelopes}/{sent['envelope_id']}", json=voided)
        assert (status, body["errorCode"]) == (400, "ENVELOPE_CANNOT_VOID_INVALID_STATE")


async def test_a_status_fault_answers_in_the_shape_of_its_api_and_acts_on_nothing() -> None:
    fault = SandboxFault(status=429, at="POST /restapi/v2.1/accounts", times=1)
    async with running(fault) as sandbox, adapters_at(sandbox) as build:
        adapter = await build("acme")
        limited = await failure(run(adapter, "send_envelope", SendEnvelope.model_validate(SEND)))
        assert isinstance(limited, VendorRateLimited)
        assert limited.metadata["vendor_code"] == "HOURLY_APIINVOCATION_LIMIT_EXCEEDED"
        assert sandbox.received("acme") == []
        await run(adapter, "send_envelope", SendEnvelope.model_validate(SEND))
        assert [e["action"] for e in sandbox.received("acme")] == ["send"]

    navigator = SandboxFault(status=500, at="/v1/accounts")
    async with running(navigator) as sandbox, adapters_at(sandbox) as build:
        failed = await failure(run(await build("acme"), "list_agreements", ListAgreements()))
        assert (failed.reason, failed.metadata["vendor_code"]) == ("VENDOR_ERROR", "500")

    token = SandboxFault(status=400, at="/oauth/token")
    async with running(token) as sandbox, adapters_at(sandbox) as build:
        adapter = await build("acme")
        refused = await failure(run(adapter, "list_agreements", ListAgreements()))
        assert isinstance(refused, VendorAuthFailed)
        assert refused.metadata["vendor_code"] == "sandbox_fault"
        assert (await adapter.health_check()).ok is False


async def test_a_drop_sends_the_envelope_and_loses_the_answer_then_the_marker_finds_it() -> None:
    fault = SandboxFault(drop=True, at="POST /restapi/v2.1/accounts", times=1)
    async with running(fault) as sandbox, adapters_at(sandbox) as build:
        adapter = await build("acme")
        payload = SendEnvelope.model_validate(SEND)
        lost = await failure(run(adapter, "send_envelope", payload, MARKER))
        assert lost.may_have_acted is True
        [kept] = sandbox.received("acme")
        found = await adapter.reconcile("send_envelope", payload, ctx(marker=MARKER))
        assert (found.found, found.result["envelope_id"]) == (True, kept["envelope_id"])
