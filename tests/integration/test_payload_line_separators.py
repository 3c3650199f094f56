"""Property: a line or paragraph separator in any string field of any operation's payload, of
any connector, is either refused by validation (INVALID_PAYLOAD naming the field) or carried
through to the vendor; the gateway never admits a value its vendor's format cannot carry.

Every string value of every example payload gets each character ``str.splitlines()`` splits on
(beyond CR and LF) inserted into it, and is sent over gRPC: email to a real aiosmtpd server,
the declared connectors to a recording adapter with their declared contract. Only the fields in
``MULTILINE`` (message bodies, descriptions, reasons, free-form values) may carry them; every
other string field (subjects, names, ids, header-like and single-line vendor fields) refuses
them. The examples are checked to cover every string field of every payload model.
"""

from __future__ import annotations

import copy
import itertools
import types
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any, Literal, Union, get_args, get_origin

import grpc
import pytest
from pydantic import BaseModel

from adapters.email import PLUGIN as EMAIL
from adapters.plugins import PLUGINS
from connectorgateway.v1 import connector_service_pb2 as pb
from gateway.contract import ConnectorMetadata, PolicyClass
from gateway.registry import Connector
from tests.adapters.examples import VALID
from tests.support.fake_adapter import FakeAdapter
from tests.support.gateway import RunningGateway, gateway_settings, running_gateway
from tests.support.rpc import refusal
from tests.support.smtp_peers import SmtpPeer

pytestmark = pytest.mark.timeout(120)

SEPARATORS = ("\x0b", "\x0c", "\x1c", "\x1d", "\x1e", "\x85", "\u2028", "\u2029")

# (payload model, field): the fields whose values may span lines.
MULTILINE = {
    ("SendEmail", "text"),
    ("SendEmail", "html"),
    ("CancelBooking", "cancellationReason"),
    ("RescheduleBooking", "reschedulingReason"),
    ("CreateBooking", "bookingFieldsResponses{value}"),
    ("CreateBooking", "metadata{value}"),
    ("SendEnvelope", "emailBlurb"),
    ("VoidEnvelope", "voidedReason"),
    *((model, "Description") for model in ("NewLead", "NewContact", "NewOpportunity")),
    *((model, "Description") for model in ("LeadFields", "ContactFields", "OpportunityFields")),
    *((model, "description") for model in ("CreateCustomer", "CreatePaymentIntent")),
    *(
        (model, "metadata{value}")
        for model in ("CreateCustomer", "CreatePaymentIntent", "CreateRefund", "CreatePaymentLink")
    ),
    *(
        (model, field)
        for model in ("NewAccount", "AccountFields")
        for field in ("Description", "BillingStreet")
    ),
    ("Condition", "string"),
    ("RestoreRecord", "values{value}"),
    ("PlaceCall", "Twiml"),
    ("TextBody", "body"),
}

LEAD = {
    "sobject": "Lead",
    "FirstName": "Jane",
    "LastName": "Doe",
    "Company": "Acme Ltd",
    "Email": "jane@example.com",
    "Phone": "+1 415 555 0100",
    "MobilePhone": "+1 415 555 0101",
    "Title": "CTO",
    "Status": "Open - Not Contacted",
    "LeadSource": "Web",
    "Description": "Met at the fair",
}
CONTACT = {
    "sobject": "Contact",
    "FirstName": "Jane",
    "LastName": "Doe",
    "Email": "jane@example.com",
    "Phone": "+1 415 555 0100",
    "MobilePhone": "+1 415 555 0101",
    "Title": "CTO",
    "AccountId": "0015g000001AbCdAAA",
    "LeadSource": "Web",
    "Description": "Key contact",
}
OPPORTUNITY = {
    "sobject": "Opportunity",
    "Name": "Acme renewal",
    "StageName": "Prospecting",
    "CloseDate": "2025-12-31",
    "Amount": 1000.0,
    "AccountId": "0015g000001AbCdAAA",
    "LeadSource": "Web",
    "Description": "Renewal for 2026",
}
ACCOUNT = {
    "sobject": "Account",
    "Name": "Acme Ltd",
    "AccountNumber": "A-1001",
    "Type": "Customer",
    "Industry": "Retail",
    "Phone": "+1 415 555 0100",
    "Website": "https://example.com",
    "BillingStreet": "1 Main Street",
    "BillingCity": "Riyadh",
    "BillingState": "Riyadh",
    "BillingPostalCode": "12345",
    "BillingCountry": "Saudi Arabia",
    "Description": "Key account",
}
RECORDS = (LEAD, CONTACT, OPPORTUNITY, ACCOUNT)

# Examples beyond the declared connectors' valid ones, so that every string field appears in one.
EXTRA: dict[tuple[str, str], list[dict[str, Any]]] = {
    ("email", "send"): [
        {
            "to": ["ops@example.com"],
            "cc": ["cc@example.com"],
            "bcc": ["bcc@example.com"],
            "subject": "Quarterly report",
            "text": "The numbers are in.",
            "html": "<p>The numbers are in.</p>",
            "reply_to": "replies@example.com",
            "in_reply_to": "<thread-1@mail.example.com>",
        }
    ],
    ("cal", "reschedule_booking"): [
        {
            "bookingUid": "bDx2bdqVEZ6SgUvzVA6hBr",
            "start": "2025-09-06T10:00:00Z",
            "reschedulingReason": "Clash",
            "rescheduledBy": "owner@example.com",
        }
    ],
    ("contract_intel", "send_envelope"): [
        {
            "emailSubject": "Please sign",
            "emailBlurb": "Here is the agreement.",
            "templateId": "4b728be4-1c2d-4e5f-8a9b-d63e23f822b6",
            "templateRoles": [{"roleName": "Buyer", "name": "Sara Ali", "email": "s@example.com"}],
        },
        {
            "emailSubject": "Please sign",
            "documents": [
                {"documentId": "1", "name": "NDA", "fileExtension": "pdf", "documentBase64": "JVBE"}
            ],
            "recipients": {
                "signers": [
                    {
                        "email": "signer@example.com",
                        "name": "Sara Ali",
                        "recipientId": "1",
                        "routingOrder": "1",
                        "tabs": {
                            "signHereTabs": [
                                {
                                    "anchorString": "/sn1/",
                                    "anchorXOffset": "1",
                                    "anchorYOffset": "2",
                                }
                            ]
                        },
                    }
                ],
                "carbonCopies": [
                    {
                        "email": "l@example.com",
                        "name": "Legal",
                        "recipientId": "2",
                        "routingOrder": "2",
                    }
                ],
            },
        },
    ],
    ("contract_intel", "list_agreements"): [{"title": "NDA", "status": "active", "ctoken": "c1"}],
    ("salesforce", "get_record"): [
        {"sobject": "Contact", "record_id": "0035g000001AbCd", "fields": ["Id", "Email"]}
    ],
    ("salesforce", "query"): [
        {
            "sobject": "Contact",
            "fields": ["Id", "Account.Name"],
            "where": [
                {"field": "LastName", "op": "=", "string": "Doe"},
                {"field": "Birthdate", "op": "<", "date": "2000-01-01"},
                {"field": "CreatedDate", "op": ">=", "datetime": "2025-01-01T00:00:00Z"},
            ],
            "order_by": [{"field": "LastName"}],
        }
    ],
    ("salesforce", "create_record"): [{"record": r} for r in RECORDS],
    ("salesforce", "update_record"): [
        {"record_id": "00Q5g000001AbCdAAA", "record": r} for r in RECORDS
    ],
    ("salesforce", "upsert_by_external_id"): [{"external_id": "C-1", "record": r} for r in RECORDS],
    ("salesforce", "delete_record"): [{"sobject": "Lead", "record_id": "00Q5g000001AbCdAAA"}],
    ("salesforce", "restore_record"): [
        {"sobject": "Lead", "record_id": "00Q5g000001AbCdAAA", "values": {"Title": "CTO"}}
    ],
    ("voice", "place_call"): [
        {
            "To": "+14155550123",
            "From": "+14155550100",
            "Url": "https://example.com/twiml",
            "StatusCallback": "https://example.com/status",
        }
    ],
    ("whatsapp", "send_template"): [
        {
            "to": "+966501234567",
            "template": {
                "name": "order_update",
                "language": {"code": "en_US"},
                "components": [
                    {
                        "type": "header",
                        "parameters": [{"type": "image", "image": {"id": "1234567890"}}],
                    },
                    {
                        "type": "button",
                        "sub_type": "url",
                        "index": "1",
                        "parameters": [{"type": "text", "text": "order/1001"}],
                    },
                ],
            },
        },
        {
            "to": "+966501234567",
            "template": {
                "name": "order_update",
                "language": {"code": "en_US"},
                "components": [
                    {"type": "header", "parameters": [{"type": "text", "text": "Sara"}]},
                ],
            },
        },
    ],
}

# The vendor connectors run against a recording adapter with their contract.
VENDORS: tuple[ConnectorMetadata, ...] = tuple(p.metadata for p in PLUGINS if p.key != EMAIL.key)
CONNECTORS: tuple[ConnectorMetadata, ...] = (EMAIL.metadata, *VENDORS)


def examples(meta: ConnectorMetadata, operation: str) -> list[dict[str, Any]]:
    found = [VALID[(meta.key, operation)]] if (meta.key, operation) in VALID else []
    return [copy.deepcopy(e) for e in (*found, *EXTRA.get((meta.key, operation), []))]


# --- which string fields a model has, and which an example fills -------------------------------


def _is_string(tp: Any) -> bool:
    return tp is str or getattr(tp, "__name__", "") == "EmailStr"


def declared_strings(tp: Any, owner: str = "", name: str = "") -> Iterator[tuple[str, str]]:
    """(model, field) of every string field reachable from ``tp``; map keys and values as
    ``field{key}`` and ``field{value}``."""
    origin = get_origin(tp)
    if origin is Annotated:
        yield from declared_strings(get_args(tp)[0], owner, name)
    elif origin in (Union, types.UnionType):
        for arg in get_args(tp):
            yield from declared_strings(arg, owner, name)
    elif origin is list:
        yield from declared_strings(get_args(tp)[0], owner, name)
    elif origin is dict:
        key, value = get_args(tp)
        yield from declared_strings(key, owner, name + "{key}")
        yield from declared_strings(value, owner, name + "{value}")
    elif origin is Literal:
        return
    elif isinstance(tp, type) and issubclass(tp, BaseModel):
        for field_name, info in tp.model_fields.items():
            yield from declared_strings(info.annotation, tp.__name__, field_name)
    elif _is_string(tp):
        yield owner, name


def placed_strings(value: Any, owner: str = "", name: str = "") -> Iterator[tuple[Any, str]]:
    """((model, field), text) of every string a validated payload holds."""
    if isinstance(value, BaseModel):
        for field_name in type(value).model_fields:
            yield from placed_strings(getattr(value, field_name), type(value).__name__, field_name)
    elif isinstance(value, list):
        for item in value:
            yield from placed_strings(item, owner, name)
    elif isinstance(value, dict):
        for key, item in value.items():
            yield from placed_strings(key, owner, name + "{key}")
            yield from placed_strings(item, owner, name + "{value}")
    elif isinstance(value, str):
        yield (owner, name), value


def string_leaves(data: Any, path: tuple[Any, ...] = ()) -> Iterator[tuple[Any, ...]]:
    """The path of every string value in raw payload data."""
    if isinstance(data, dict):
        for key, value in data.items():
            yield from string_leaves(value, (*path, key))
    elif isinstance(data, list):
        for index, value in enumerate(data):
            yield from string_leaves(value, (*path, index))
    elif isinstance(data, str):
        yield path


def with_separator(data: dict[str, Any], path: tuple[Any, ...], separator: str) -> str:
    """Puts ``separator`` in the middle of the string at ``path``; returns the new value."""
    parent: Any = data
    for part in path[:-1]:
        parent = parent[part]
    old = parent[path[-1]]
    middle = len(old) // 2
    parent[path[-1]] = new = old[:middle] + separator + old[middle:]
    return new


def owner_at(value: Any, path: tuple[Any, ...], owner: str = "", name: str = "") -> Any:
    """The (model, field) that holds the string at ``path`` of a validated payload."""
    if not path:
        return owner, name
    head, *rest = path
    if isinstance(value, BaseModel):
        return owner_at(getattr(value, head), tuple(rest), type(value).__name__, head)
    if isinstance(value, dict):
        return owner_at(value[head], tuple(rest), owner, name + "{value}")
    return owner_at(value[head], tuple(rest), owner, name)


# --- the test --------------------------------------------------------------------------------


def _names_the_field(path: tuple[Any, ...], field: str) -> bool:
    """Whether a BadRequest field path names the payload field at ``path``: its keys in order
    (a tagged union adds its tag), or, for a union's tag itself, the tagged container."""
    named = field.split(".")
    wanted = ["payload", *(str(p) for p in path)]
    return _in_order(wanted, named) or (_in_order(wanted[:-1], named) and named[-1] == wanted[-2])


def _in_order(parts: list[str], within: list[str]) -> bool:
    remaining = iter(within)
    return all(part in remaining for part in parts)


@dataclass
class Rig:
    gw: RunningGateway
    smtp: SmtpPeer
    fakes: dict[str, FakeAdapter]
    keys: Iterator[int]

    async def send(
        self, meta: ConnectorMetadata, operation: str, payload: dict[str, Any]
    ) -> tuple[grpc.StatusCode, str, list[tuple[str, str]]]:
        spec = meta.operation(operation)
        assert spec is not None
        request = pb.ExecuteRequest(connector_key=meta.key, operation=operation)
        if not spec.read_only:
            request.idempotency_key = f"k{next(self.keys)}"
        request.payload.update(payload)
        try:
            await self.gw.stub.Execute(request, timeout=10)
        except grpc.aio.AioRpcError as error:
            seen = refusal(error)
            return seen.code, seen.reason, seen.violations
        return grpc.StatusCode.OK, "", []


@pytest.fixture
async def rig(tmp_path: Path, smtp_server: SmtpPeer) -> AsyncIterator[Rig]:
    writes_as_a = {
        f"{meta.key}.{op.name}": "A"
        for meta in CONNECTORS
        for op in meta.operations
        if op.policy_class is PolicyClass.B
    }
    settings = gateway_settings(
        tmp_path,
        email=smtp_server.settings().model_dump(),
        policy={"allow_loosening": True, "overrides": writes_as_a},
        reliability={
            "backoff_scale": 0.001,
            "rate_limits": {m.key: {"per_second": 10_000, "burst": 10_000} for m in CONNECTORS},
        },
    )
    fakes = {meta.key: FakeAdapter(meta) for meta in VENDORS}
    email = EMAIL.connector(settings)
    connectors = [email, *(Connector(fake, registered=True) for fake in fakes.values())]
    async with running_gateway(settings, connectors=connectors) as gw:
        yield Rig(gw, smtp_server, fakes, itertools.count())


def test_examples_cover_every_string_field() -> None:
    for meta in CONNECTORS:
        for op in meta.operations:
            declared = set(declared_strings(op.payload_model))
            filled: set[tuple[str, str]] = set()
            for example in examples(meta, op.name):
                validated = op.payload_model.model_validate(example)
                filled |= {place for place, _ in placed_strings(validated)}
            assert declared <= filled, (meta.key, op.name, sorted(declared - filled))
            assert {m for m in MULTILINE if m in declared} <= filled


@pytest.mark.parametrize("meta", CONNECTORS, ids=lambda m: m.key)
async def test_line_separators_are_refused_or_carried_through(
    rig: Rig, meta: ConnectorMetadata
) -> None:
    carried: set[tuple[str, str]] = set()
    for op in meta.operations:
        for example in examples(meta, op.name):
            validated = op.payload_model.model_validate(example)
            for path, separator in itertools.product(list(string_leaves(example)), SEPARATORS):
                payload = copy.deepcopy(example)
                value = with_separator(payload, path, separator)
                code, reason, violations = await rig.send(meta, op.name, payload)
                where = f"{meta.key}.{op.name} {'.'.join(map(str, path))} {separator!r}"
                if code is grpc.StatusCode.OK:
                    carried.add(owner_at(validated, path))
                    assert owner_at(validated, path) in MULTILINE, f"{where}: admitted"
                    assert _arrived(rig, meta, value), f"{where}: not carried through"
                else:
                    assert (code, reason) == (grpc.StatusCode.INVALID_ARGUMENT, "INVALID_PAYLOAD")
                    assert any(_names_the_field(path, f) for f, _ in violations), (
                        where,
                        violations,
                    )
    # Each free-text field really carries them (the test would pass vacuously otherwise).
    declared = {place for op in meta.operations for place in declared_strings(op.payload_model)}
    expected = MULTILINE & declared
    assert carried == expected


def _arrived(rig: Rig, meta: ConnectorMetadata, value: str) -> bool:
    if meta.key == "email":
        message = rig.smtp.messages[-1].message
        bodies = [part.get_content() for part in message.walk() if not part.is_multipart()]
        return any(value in body for body in bodies)
    _, received = rig.fakes[meta.key].calls[-1]
    return value in _texts(received)


def _texts(data: Any) -> list[str]:
    if isinstance(data, dict):
        return [text for item in data.values() for text in _texts(item)]
    if isinstance(data, list):
        return [text for item in data for text in _texts(item)]
    return [data] if isinstance(data, str) else []
