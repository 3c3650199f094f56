"""What the Salesforce tests share: a signing key, a fake org behind a recorder, the account
that reaches it, and the check of captured requests against the sObject description."""

from __future__ import annotations

import dataclasses
import functools
import json
import re
from collections.abc import AsyncIterator, Iterable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from pydantic import SecretStr

from adapters.salesforce.account import SalesforceAccount
from tests.adapters.salesforce.fake_org import FakeOrg, fake_org
from tests.support.vendor_recorder import RecordedRequest, VendorRecorder
from tests.support.vendor_schema import VendorSchema

SPEC = "salesforce/sobjects-lead-contact-opportunity.openapi.yaml"
CONSUMER_KEY = "3MVG9test.consumer.key"
USERNAME = "gateway@example.com"
MARKER_FIELDS = {"Lead": "Gateway_Key__c", "Contact": "Customer_Number__c"}
# The rows the description models: create a Lead, Contact or Opportunity; read or update one.
_COVERED = re.compile(
    r"/services/data/v[0-9]+\.0/sobjects/(Lead|Contact|Opportunity)(/[A-Za-z0-9]{15,18})?"
)


@dataclass(frozen=True)
class KeyPair:
    private_pem: str
    public_pem: str


@functools.cache
def signing_key() -> KeyPair:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    private = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    ).decode()
    public = (
        key.public_key()
        .public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
        .decode()
    )
    return KeyPair(private, public)


@dataclass
class Org:
    """The fake org, and the recorder in front of its instance host."""

    fake: FakeOrg
    recorder: VendorRecorder

    def account(self, **overrides: Any) -> SalesforceAccount:
        settings: dict[str, Any] = {
            "login_url": self.fake.login_url,
            "consumer_key": CONSUMER_KEY,
            "username": USERNAME,
            "private_key": SecretStr(signing_key().private_pem),
            "external_id_fields": dict(MARKER_FIELDS),
        }
        settings.update(overrides)
        return SalesforceAccount(**settings)

    @property
    def requests(self) -> list[RecordedRequest]:
        return self.recorder.requests

    def sent(self) -> list[tuple[str, str]]:
        """(method, path and query) of each REST request, in order."""
        return [
            (r.method, r.path + (f"?{r.query_string}" if r.query_string else ""))
            for r in self.requests
        ]


@asynccontextmanager
async def salesforce_org(
    external_id_fields: dict[str, str] | None = None, *, instance: str = ""
) -> AsyncIterator[Org]:
    """The fake org; its token answers name a recorder in front of its own instance host,
    or in front of ``instance`` (Prism serving the sObject description)."""
    fields = MARKER_FIELDS if external_id_fields is None else external_id_fields
    async with (
        fake_org(
            consumer_key=CONSUMER_KEY,
            username=USERNAME,
            public_key_pem=signing_key().public_pem,
            external_id_fields=fields,
        ) as fake,
        VendorRecorder(instance or fake.instance_url) as recorder,
    ):
        fake.advertised_instance_url = recorder.url
        yield Org(fake, recorder)


def covered(request: RecordedRequest) -> bool:
    """Whether the sObject description models this request."""
    match = _COVERED.fullmatch(request.path)
    if match is None:
        return False
    with_id = match.group(2) is not None
    return request.method in (("GET", "PATCH") if with_id else ("POST",))


def check_against_spec(
    requests: Iterable[RecordedRequest], *, custom_fields: Iterable[str] = ()
) -> int:
    """Checks every request the description models against it, unknown properties refused;
    returns how many it checked. ``custom_fields`` (an org's own external id fields, which
    the description cannot know) are taken out of a body before the check."""
    schema = VendorSchema.load(SPEC)
    custom = set(custom_fields)
    checked = 0
    for request in requests:
        if not covered(request):
            continue
        if custom and request.body:
            body = {k: v for k, v in request.json().items() if k not in custom}
            request = dataclasses.replace(request, body=json.dumps(body).encode())
        schema.check(request)
        checked += 1
    return checked
