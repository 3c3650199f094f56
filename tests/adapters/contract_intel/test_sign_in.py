"""Signing in to DocuSign: the JWT grant, one token request at a time, one new token after a
401, and the account user-info names. None of it ever counts as an envelope maybe sent."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from adapters.contract_intel.operations import GetEnvelope, SendEnvelope
from gateway.errors import (
    DeadlineExceeded,
    GatewayError,
    NotConfigured,
    VendorAuthFailed,
    VendorUnavailable,
)
from tests.support import fault_vendor as fv
from tests.support.fault_vendor import fault_vendor

from .conftest import Build
from .fakes import ACCOUNT_ID, BAD_TOKEN, INTEGRATION_KEY, OTHER_ACCOUNT_ID, USER_ID
from .support import DocuSign, ctx

ENVELOPE = {
    "emailSubject": "Please sign the NDA",
    "documents": [{"documentId": "1", "name": "NDA", "documentBase64": "JVBERi0x"}],
    "recipients": {
        "signers": [{"email": "sara@example.com", "name": "Sara Ali", "recipientId": "1"}]
    },
}


def envelope() -> SendEnvelope:
    return SendEnvelope.model_validate(ENVELOPE)


async def stored_envelope(docusign: DocuSign, adapter_for: Build) -> str:
    sent = await adapter_for().execute("send_envelope", envelope(), ctx())
    return str(sent["envelope_id"])


async def test_the_grant_asserts_the_integration_user_audience_and_scopes(
    docusign: DocuSign, adapter_for: Build
) -> None:
    adapter = adapter_for()
    await adapter.initialize()
    await adapter.execute("send_envelope", envelope(), ctx())
    [claims] = docusign.auth.grants
    assert (claims["iss"], claims["sub"], claims["aud"]) == (INTEGRATION_KEY, USER_ID, "127.0.0.1")
    assert claims["scope"] == "signature impersonation adm_store_unified_repo_read models_read"
    assert 0 < claims["exp"] - claims["iat"] <= 3600
    # The eSignature requests went to the base URI user-info gave, with the token.
    assert docusign.esign.seen == [
        ("POST", f"/restapi/v2.1/accounts/{ACCOUNT_ID}/envelopes", "Bearer token-1")
    ]
    assert docusign.auth.userinfo_requests == 1


async def test_fifty_calls_on_an_expired_token_make_exactly_one_token_request(
    docusign: DocuSign, adapter_for: Build
) -> None:
    now = [1000.0]
    adapter = adapter_for(clock=lambda: now[0])
    envelope_id = await stored_envelope(docusign, lambda **_: adapter)
    assert docusign.auth.issued == ["token-1"]

    now[0] += docusign.auth.expires_in  # token-1 has expired
    docusign.auth.hold = asyncio.Event()
    read = GetEnvelope(envelopeId=envelope_id)
    calls = [asyncio.create_task(adapter.execute("get_envelope", read, ctx())) for _ in range(50)]
    await docusign.auth.wait_holding(1)
    docusign.auth.hold.set()
    results = await asyncio.gather(*calls)

    assert {r["envelope_id"] for r in results} == {envelope_id}
    assert docusign.auth.issued == ["token-1", "token-2"]
    assert len(docusign.auth.grants) == 2
    reads = docusign.esign.seen[1:]
    assert len(reads) == 50
    assert {bearer for _, _, bearer in reads} == {"Bearer token-2"}


async def test_a_401_drops_the_token_and_sends_once_more_with_a_new_one(
    docusign: DocuSign, adapter_for: Build
) -> None:
    adapter = adapter_for()
    envelope_id = await stored_envelope(docusign, lambda **_: adapter)
    docusign.auth.revoke_all()  # DocuSign no longer takes token-1

    result = await adapter.execute("get_envelope", GetEnvelope(envelopeId=envelope_id), ctx())

    assert result["status"] == "sent"
    assert [bearer for _, _, bearer in docusign.esign.seen[1:]] == [
        "Bearer token-1",
        "Bearer token-2",
    ]


async def test_a_second_401_is_vendor_auth_failed_after_one_new_token(
    docusign: DocuSign, adapter_for: Build
) -> None:
    adapter = adapter_for()
    docusign.esign.script.extend([(401, BAD_TOKEN), (401, BAD_TOKEN), (401, BAD_TOKEN)])

    with pytest.raises(VendorAuthFailed) as caught:
        await adapter.execute("send_envelope", envelope(), ctx())

    assert caught.value.may_have_acted is False  # a 401 is an answer: nothing was sent
    assert caught.value.metadata["vendor_code"] == "AUTHORIZATION_INVALID_TOKEN"
    assert docusign.auth.issued == ["token-1", "token-2"]
    assert [bearer for _, _, bearer in docusign.esign.seen] == ["Bearer token-1", "Bearer token-2"]
    assert docusign.esign.envelopes == {}
    assert "token-" not in caught.value.message


@pytest.mark.parametrize(
    ("error", "hint"),
    [("consent_required", "consent"), ("invalid_grant", "integration key")],
)
async def test_a_refused_grant_is_vendor_auth_failed_and_nothing_is_sent(
    docusign: DocuSign, adapter_for: Build, error: str, hint: str
) -> None:
    docusign.auth.refusals.append((400, {"error": error, "error_description": "No."}))

    with pytest.raises(VendorAuthFailed) as caught:
        await adapter_for().execute("send_envelope", envelope(), ctx())

    assert caught.value.metadata["vendor_code"] == error
    assert hint in caught.value.message
    assert caught.value.may_have_acted is False
    assert docusign.esign.seen == []


async def test_a_token_request_cut_off_never_counts_as_the_envelope_maybe_sent(
    docusign: DocuSign, adapter_for: Build
) -> None:
    async with fault_vendor() as account_server:
        account_server.script(fv.reset_after())
        adapter = adapter_for(auth_server=account_server.url)

        with pytest.raises(VendorUnavailable) as caught:
            await adapter.execute("send_envelope", envelope(), ctx())

        assert caught.value.may_have_acted is False
        [token_request] = account_server.requests
        assert token_request.path == "/oauth/token"
    assert docusign.esign.seen == []


async def test_an_account_server_too_slow_is_a_deadline_before_anything_is_sent(
    docusign: DocuSign, adapter_for: Build
) -> None:
    docusign.auth.hold = asyncio.Event()

    with pytest.raises(DeadlineExceeded) as caught:
        await adapter_for().execute("send_envelope", envelope(), ctx(timeout_s=0.2))

    assert caught.value.may_have_acted is False
    assert docusign.esign.seen == []
    docusign.auth.hold.set()


async def test_the_configured_account_is_chosen_among_the_users_accounts(
    docusign: DocuSign, adapter_for: Build
) -> None:
    docusign.auth.accounts = [
        {"account_id": OTHER_ACCOUNT_ID, "is_default": "true", "base_uri": "http://127.0.0.1:9"},
        {"account_id": ACCOUNT_ID, "is_default": "false", "base_uri": docusign.esign.url},
    ]
    adapter = adapter_for(account_id=ACCOUNT_ID)
    await adapter.execute("send_envelope", envelope(), ctx())
    assert docusign.esign.seen[0][1] == f"/restapi/v2.1/accounts/{ACCOUNT_ID}/envelopes"

    missing = adapter_for(account_id="99999999-9999-4999-8999-999999999999")
    with pytest.raises(NotConfigured, match="no access to 99999999"):
        await missing.execute("send_envelope", envelope(), ctx())


async def test_a_user_info_base_uri_that_is_not_a_url_is_refused(
    docusign: DocuSign, adapter_for: Build
) -> None:
    docusign.auth.accounts = [
        {"account_id": ACCOUNT_ID, "is_default": True, "base_uri": "javascript:alert(1)"}
    ]
    with pytest.raises(GatewayError) as caught:
        await adapter_for().execute("send_envelope", envelope(), ctx())
    assert caught.value.reason == "VENDOR_BAD_RESPONSE"
    assert caught.value.may_have_acted is False


async def test_the_private_key_is_read_from_its_file(
    docusign: DocuSign, adapter_for: Build, tmp_path: Path
) -> None:
    key_file = tmp_path / "docusign.pem"
    key_file.write_text(docusign.key.pem, encoding="utf-8")
    adapter = adapter_for(private_key=None, private_key_file=key_file)
    assert adapter.configured
    await adapter.execute("send_envelope", envelope(), ctx())
    assert docusign.auth.issued == ["token-1"]

    unreadable = adapter_for(private_key=None, private_key_file=tmp_path / "absent.pem")
    with pytest.raises(NotConfigured, match="private_key_file"):
        await unreadable.initialize()


def test_without_a_user_or_a_key_the_account_is_not_configured(docusign: DocuSign) -> None:
    assert not docusign.account(private_key=None).complete
    assert not docusign.account(user_id=None).complete
    assert docusign.account().complete
