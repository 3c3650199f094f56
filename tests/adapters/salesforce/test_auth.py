"""Signing in to Salesforce: the JWT bearer grant, one token request for any number of calls,
a new token when Salesforce refuses the old one, the health probe, and the private key kept
out of every error and log line."""

from __future__ import annotations

import asyncio
import logging
import time
from pathlib import Path

import pytest
from pydantic import SecretStr

from adapters.salesforce.adapter import SalesforceAdapter
from adapters.salesforce.operations import CreateRecord, GetRecord
from gateway.contract import VendorContact
from gateway.errors import (
    GatewayError,
    NotConfigured,
    ShuttingDown,
    VendorAuthFailed,
    VendorUnavailable,
)
from tests.adapters.salesforce.fake_org import INVALID_SESSION
from tests.adapters.salesforce.kit import CONSUMER_KEY, USERNAME, Org, signing_key
from tests.support.vendor_adapters import attempt

LEAD = GetRecord(sobject="Lead", record_id="00Q5g0000000001AAA")


async def test_the_grant_is_a_short_lived_rs256_assertion_for_the_login_url(
    adapter: SalesforceAdapter, org: Org
) -> None:
    before = time.time()
    org.fake.add("Lead", LastName="Doe", Company="Acme")
    await adapter.execute("get_record", LEAD, attempt())
    [grant] = org.fake.token_requests
    assert grant.grant_type == "urn:ietf:params:oauth:grant-type:jwt-bearer"
    claims = grant.claims  # the fake checked the signature against the public key
    assert (claims["iss"], claims["sub"], claims["aud"]) == (
        CONSUMER_KEY,
        USERNAME,
        org.fake.login_url,
    )
    assert claims["exp"] - before <= 181
    # Every REST call went to the instance URL the token answer named.
    assert [r.path for r in org.requests] == [
        "/services/data/v60.0/sobjects/Lead/00Q5g0000000001AAA"
    ]


async def test_the_token_is_kept_until_salesforce_refuses_it(
    adapter: SalesforceAdapter, org: Org
) -> None:
    for _ in range(3):
        await adapter.health_check()
    assert len(org.fake.token_requests) == 1
    org.fake.expire_sessions()
    probe = await adapter.health_check()
    assert probe.ok
    assert len(org.fake.token_requests) == 2
    first_token = org.requests[0].headers["Authorization"]
    assert [r.headers["Authorization"] for r in org.requests] == [first_token] * 4 + [
        org.requests[-1].headers["Authorization"]
    ]
    assert org.requests[-1].headers["Authorization"] != first_token


async def test_fifty_concurrent_calls_on_an_expired_token_make_one_token_request(
    adapter: SalesforceAdapter, org: Org
) -> None:
    record = org.fake.add("Lead", LastName="Doe", Company="Acme")
    read = GetRecord(sobject="Lead", record_id=record)
    await adapter.execute("get_record", read, attempt())
    org.fake.expire_sessions()
    results = await asyncio.gather(
        *(adapter.execute("get_record", read, attempt(timeout_s=10)) for _ in range(50))
    )
    assert {r["Id"] for r in results} == {record}
    assert len(org.fake.token_requests) == 2  # the first, and one for all fifty
    refused = [s for s in org.recorder.statuses if s == 401]
    assert len(refused) == 50  # each call's first try met the expired session, once


async def test_a_write_refused_as_unauthenticated_is_sent_again_with_a_new_token(
    adapter: SalesforceAdapter, org: Org
) -> None:
    org.fake.fail_next(401, INVALID_SESSION)
    contact = VendorContact()
    create = CreateRecord.model_validate({"record": {"sobject": "Contact", "LastName": "Doe"}})
    result = await adapter.execute("create_record", create, attempt(contact=contact))
    assert [r.method for r in org.requests] == ["POST", "POST"]
    assert org.requests[0].headers["Authorization"] != org.requests[1].headers["Authorization"]
    assert len(org.fake.records["Contact"]) == 1  # the refused request did nothing
    assert result["id"] in org.fake.records["Contact"]


async def test_a_second_refusal_is_the_gateways_credentials_failing(
    adapter: SalesforceAdapter, org: Org
) -> None:
    org.fake.fail_next(401, INVALID_SESSION, times=2)
    with pytest.raises(VendorAuthFailed) as caught:
        await adapter.execute("get_record", LEAD, attempt())
    assert caught.value.metadata["vendor_code"] == "INVALID_SESSION_ID"
    assert len(org.requests) == 2
    assert len(org.fake.token_requests) == 2


@pytest.mark.parametrize(
    ("status", "body"),
    [
        (
            400,
            {"error": "invalid_grant", "error_description": "user hasn't approved this consumer"},
        ),
        (400, {"error": "invalid_client_id", "error_description": "client identifier invalid"}),
        (401, {"error": "invalid_client", "error_description": "invalid client credentials"}),
    ],
)
async def test_a_refused_grant_is_vendor_auth_failed_and_nothing_was_sent(
    adapter: SalesforceAdapter, org: Org, status: int, body: dict[str, str]
) -> None:
    org.fake.refuse_grant = (status, body)
    contact = VendorContact()
    create = CreateRecord.model_validate({"record": {"sobject": "Contact", "LastName": "Doe"}})
    with pytest.raises(VendorAuthFailed) as caught:
        await adapter.execute("create_record", create, attempt(contact=contact))
    error = caught.value
    assert error.may_have_acted is False
    assert not contact.reported
    assert (error.metadata["phase"], error.metadata["vendor_code"]) == ("token", body["error"])
    assert body["error_description"] not in error.message
    assert org.requests == []


async def test_a_grant_for_another_user_is_refused_by_salesforce(org: Org) -> None:
    salesforce = SalesforceAdapter(org.account(username="someone.else@example.com"))
    try:
        with pytest.raises(VendorAuthFailed, match="JWT bearer grant"):
            await salesforce.execute("get_record", LEAD, attempt())
    finally:
        await salesforce.shutdown()
    assert org.requests == []


async def test_an_unreachable_login_host_is_unavailable_and_nothing_was_sent(org: Org) -> None:
    salesforce = SalesforceAdapter(org.account(login_url="http://127.0.0.1:9"))
    try:
        with pytest.raises(VendorUnavailable) as caught:
            await salesforce.execute("get_record", LEAD, attempt())
    finally:
        await salesforce.shutdown()
    assert (caught.value.may_have_acted, caught.value.metadata["phase"]) == (False, "token")


# --- the probe -------------------------------------------------------------------------------


async def test_the_probe_reads_the_limits(adapter: SalesforceAdapter, org: Org) -> None:
    probe = await adapter.health_check()
    assert (probe.ok, probe.error) == (True, None)
    assert [r.path for r in org.requests] == ["/services/data/v60.0/limits"]
    assert org.requests[0].headers["Authorization"].startswith("Bearer ")


@pytest.mark.parametrize(
    ("failure", "reason"),
    [
        ("grant", "VENDOR_AUTH_FAILED"),
        ("500", "VENDOR_ERROR"),
        ("limit", "VENDOR_RATE_LIMITED"),
    ],
)
async def test_a_failing_probe_names_the_reason_without_salesforces_words(
    adapter: SalesforceAdapter, org: Org, failure: str, reason: str
) -> None:
    words = "Something Salesforce said about jane@example.com"
    if failure == "grant":
        org.fake.refuse_grant = (400, {"error": "invalid_grant", "error_description": words})
    elif failure == "500":
        org.fake.fail_next(500, [{"message": words, "errorCode": "UNKNOWN_EXCEPTION"}])
    else:
        org.fake.fail_next(403, [{"message": words, "errorCode": "REQUEST_LIMIT_EXCEEDED"}])
    probe = await adapter.health_check()
    assert probe.ok is False
    assert probe.error is not None
    assert probe.error.reason == reason
    assert probe.detail.startswith(f"GET limits failed: {reason}")
    assert words not in probe.detail
    assert words not in probe.error.message


async def test_a_probe_of_an_unreachable_org_fails(org: Org) -> None:
    salesforce = SalesforceAdapter(org.account(login_url="http://127.0.0.1:9"))
    try:
        probe = await salesforce.health_check()
    finally:
        await salesforce.shutdown()
    assert probe.ok is False
    assert probe.error is not None
    assert probe.error.reason == "VENDOR_UNAVAILABLE"


# --- the private key -------------------------------------------------------------------------


def key_lines() -> list[str]:
    """The lines of the private key's body: any one of them appearing anywhere is a leak."""
    return [line for line in signing_key().private_pem.splitlines() if "-----" not in line]


async def test_the_private_key_appears_in_no_error_and_no_log_line(
    org: Org, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    salesforce = SalesforceAdapter(org.account())
    seen: list[GatewayError] = []
    try:
        assert signing_key().private_pem not in repr(salesforce)
        for trouble in ("grant", "session", "server"):
            org.fake.refuse_grant = (
                (400, {"error": "invalid_grant", "error_description": "x"})
                if trouble == "grant"
                else None
            )
            if trouble == "session":
                org.fake.fail_next(401, INVALID_SESSION, times=2)
            if trouble == "server":
                org.fake.fail_next(500, [{"message": "x", "errorCode": "UNKNOWN_EXCEPTION"}])
            with pytest.raises(GatewayError) as caught:
                await salesforce.execute("get_record", LEAD, attempt())
            seen.append(caught.value)
        probe = await salesforce.health_check()
        assert probe.ok
    finally:
        await salesforce.shutdown()
    texts = [caplog.text, *(str(e) for e in seen), *(str(e.metadata) for e in seen)]
    assertions = [r.assertion for r in org.fake.token_requests]
    assert len(assertions) == 3  # refused; then one, refused by the API and replaced once
    for text in texts:
        for secret in (*key_lines(), *assertions):
            assert secret not in text


@pytest.mark.parametrize(
    "key",
    [
        "not a key at all",
        "-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----",
    ],
)
async def test_a_key_that_is_not_an_rsa_pem_stops_the_start_without_quoting_it(
    org: Org, key: str
) -> None:
    salesforce = SalesforceAdapter(org.account(private_key=SecretStr(key)))
    with pytest.raises(NotConfigured) as caught:
        await salesforce.initialize()
    assert "AAAA" not in caught.value.message
    assert key not in caught.value.message


async def test_the_key_is_read_from_its_file(org: Org, tmp_path: Path) -> None:
    key_file = tmp_path / "salesforce.key"
    key_file.write_text(signing_key().private_pem, encoding="utf-8")
    salesforce = SalesforceAdapter(org.account(private_key=None, private_key_file=key_file))
    try:
        await salesforce.initialize()
        assert (await salesforce.health_check()).ok
    finally:
        await salesforce.shutdown()
    missing = SalesforceAdapter(org.account(private_key=None, private_key_file=tmp_path / "no"))
    with pytest.raises(NotConfigured, match="cannot read private_key_file"):
        await missing.initialize()


async def test_after_shutdown_nothing_is_sent_until_it_starts_again(org: Org) -> None:
    salesforce = SalesforceAdapter(org.account())
    await salesforce.initialize()
    assert (await salesforce.health_check()).ok
    await salesforce.shutdown()
    with pytest.raises(ShuttingDown):
        await salesforce.execute("get_record", LEAD, attempt())
    assert len(org.requests) == 1
    await salesforce.initialize()
    try:
        assert (await salesforce.health_check()).ok
    finally:
        await salesforce.shutdown()
    assert len(org.fake.token_requests) == 2  # the token went with the shutdown
