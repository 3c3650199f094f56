"""A real gateway whose ``contract_intel`` account signs in at a loopback DocuSign account
server and calls eSignature and Navigator through recorders: Prism serving DocuSign's
published descriptions, or the tests' own fakes.

eSignature lives under ``{base_uri}/restapi/v2.1/…``; the adapter always sends that path, as
DocuSign wants it. Prism serves the description's paths without its ``/restapi`` base path,
so a ``PreferProxy`` behind the recorder drops it: the recorder keeps the path DocuSign would
receive, and the faithful description (whose ``basePath`` is ``/restapi``) checks it.
"""

from __future__ import annotations

import json
import urllib.request
from collections.abc import AsyncIterator
from contextlib import AsyncExitStack, asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import grpc
import pytest

from connectorgateway.v1 import approval_service_pb2 as apb
from connectorgateway.v1 import approval_service_pb2_grpc as apb_grpc
from connectorgateway.v1 import connector_service_pb2 as pb
from connectorgateway.v1 import execution_service_pb2 as epb
from connectorgateway.v1 import execution_service_pb2_grpc as epb_grpc
from gateway.auth.authenticator import DEV_CALLER_HEADER
from tests.adapters.contract_intel.fakes import ACCOUNT_ID, AccountServer, SigningKey
from tests.support.gateway import RunningGateway, gateway_settings, running_gateway
from tests.support.prefer_proxy import PreferProxy
from tests.support.prism import PrismServers
from tests.support.rpc import Refusal, refusal
from tests.support.vendor_recorder import VendorRecorder
from tests.support.vendor_schema import VendorSchema

ESIGNATURE = "docusign/esignature.rest.swagger-v2.1.envelopes.json"
ESIGNATURE_PRISM = "docusign/esignature.rest.swagger-v2.1.envelopes.prism.json"
NAVIGATOR = "docusign/navigator.rest.swagger.agreements.json"
AGENT = ((DEV_CALLER_HEADER, "local-agent"),)
OPERATOR = ((DEV_CALLER_HEADER, "local-operator"),)
ENVELOPE_ID = "4b728be4-1c2d-4e5f-8a9b-d63e23f822b6"
AGREEMENT_ID = "48e593bd-73e8-455f-92e7-7299fef08dea"
# Prism compiles an operation's validators on its first request (several seconds for
# eSignature's envelope create); calls through the gateway come after a warm-up.
CALL_TIMEOUT_S = 30
WARM_UP_TIMEOUT_S = 90

SEND = {
    "emailSubject": "Please sign the NDA",
    "emailBlurb": "The mutual NDA we discussed.",
    "documents": [
        {"documentId": "1", "name": "NDA", "fileExtension": "pdf", "documentBase64": "JVBERi0x"}
    ],
    "recipients": {
        "signers": [
            {
                "email": "sara@example.com",
                "name": "Sara Ali",
                "recipientId": "1",
                "tabs": {"signHereTabs": [{"anchorString": "/sn1/", "anchorYOffset": "-10"}]},
            }
        ],
        "carbonCopies": [
            {"email": "legal@example.com", "name": "Legal", "recipientId": "2", "routingOrder": "2"}
        ],
    },
}


def _warm(url: str, method: str, path: str, body: Any = None) -> None:
    data = None if body is None else json.dumps(body).encode()
    request = urllib.request.Request(  # noqa: S310 - a loopback Prism
        url + path,
        data=data,
        method=method,
        headers={"Authorization": "Bearer warm-up", "Content-Type": "application/json"},
    )
    with urllib.request.urlopen(request, timeout=WARM_UP_TIMEOUT_S) as answer:  # noqa: S310
        answer.read()


@dataclass(frozen=True)
class PrismUrls:
    esignature: str
    navigator: str


@pytest.fixture(scope="session")
def docusign_prism(prism: PrismServers) -> PrismUrls:
    """Prism serving eSignature (the variant) and Navigator, each operation asked once."""
    esignature, navigator = prism.url(ESIGNATURE_PRISM), prism.url(NAVIGATOR)
    account = f"/v2.1/accounts/{ACCOUNT_ID}"
    definition = {**SEND, "status": "sent"}
    _warm(esignature, "POST", f"{account}/envelopes", definition)
    _warm(esignature, "GET", f"{account}/envelopes/{ENVELOPE_ID}")
    _warm(esignature, "PUT", f"{account}/envelopes/{ENVELOPE_ID}", {"status": "voided"})
    _warm(esignature, "GET", account)
    _warm(navigator, "GET", f"/v1/accounts/{ACCOUNT_ID}/agreements")
    _warm(navigator, "GET", f"/v1/accounts/{ACCOUNT_ID}/agreements/{AGREEMENT_ID}")
    return PrismUrls(esignature, navigator)


@dataclass
class Rig:
    gw: RunningGateway
    auth: AccountServer
    esignature: VendorRecorder
    navigator: VendorRecorder
    fronts: list[PreferProxy] = field(default_factory=list)

    def prefer(self, code: int | None) -> None:
        """Asks Prism for this status on every later request (None: the example answers)."""
        for front in self.fronts:
            front.prefer = None if code is None else f"code={code}"

    async def execute(
        self, operation: str, payload: dict[str, Any], key: str = "", approval_id: str = ""
    ) -> pb.ExecuteResponse:
        request = pb.ExecuteRequest(
            connector_key="contract_intel",
            operation=operation,
            idempotency_key=key,
            approval_id=approval_id,
        )
        request.payload.update(payload)
        response: pb.ExecuteResponse = await self.gw.stub.Execute(
            request, metadata=AGENT, timeout=CALL_TIMEOUT_S
        )
        return response

    async def refused(
        self, operation: str, payload: dict[str, Any], key: str = "", approval_id: str = ""
    ) -> Refusal:
        with pytest.raises(grpc.aio.AioRpcError) as caught:
            await self.execute(operation, payload, key, approval_id)
        return refusal(caught.value)

    async def approve(self, approval_id: str) -> None:
        stub = apb_grpc.ApprovalServiceStub(self.gw.channel)
        granted = await stub.ApproveApproval(
            apb.ApproveApprovalRequest(approval_id=approval_id, note="ok"),
            metadata=OPERATOR,
            timeout=5,
        )
        assert granted.approval.status == apb.APPROVAL_STATUS_GRANTED

    async def approval_for(self, operation: str, payload: dict[str, Any], key: str) -> str:
        """A class B call asked and granted: the approval id to send it with."""
        asked = await self.refused(operation, payload, key)
        assert asked.reason == "APPROVAL_REQUIRED", asked
        await self.approve(asked.metadata["approval_id"])
        return asked.metadata["approval_id"]

    async def approved(
        self, operation: str, payload: dict[str, Any], key: str
    ) -> pb.ExecuteResponse:
        approval_id = await self.approval_for(operation, payload, key)
        return await self.execute(operation, payload, key, approval_id)

    async def compensate(
        self, execution_id: str, key: str, approval_id: str = ""
    ) -> pb.CompensateResponse:
        response: pb.CompensateResponse = await self.gw.stub.Compensate(
            pb.CompensateRequest(
                execution_id=execution_id,
                reason="sent to the wrong person",
                idempotency_key=key,
                approval_id=approval_id,
            ),
            metadata=AGENT,
            timeout=CALL_TIMEOUT_S,
        )
        return response

    async def executions(self) -> list[epb.Execution]:
        """The tenant's executions, as an operator lists them."""
        stub = epb_grpc.ExecutionServiceStub(self.gw.channel)
        listed = await stub.ListExecutions(
            epb.ListExecutionsRequest(), metadata=OPERATOR, timeout=5
        )
        return list(listed.executions)

    async def reconcile(self, execution_id: str) -> epb.ReconcileExecutionResponse:
        """An operator asks DocuSign about an execution of unknown outcome."""
        stub = epb_grpc.ExecutionServiceStub(self.gw.channel)
        answer: epb.ReconcileExecutionResponse = await stub.ReconcileExecution(
            epb.ReconcileExecutionRequest(execution_id=execution_id),
            metadata=OPERATOR,
            timeout=CALL_TIMEOUT_S,
        )
        return answer

    def check_against_the_descriptions(self) -> None:
        """Every request DocuSign received fits its published, faithful description."""
        esignature = VendorSchema.load(ESIGNATURE)
        for request in self.esignature.requests:
            esignature.check(request)
        navigator = VendorSchema.load(NAVIGATOR)
        for request in self.navigator.requests:
            navigator.check(request)


def account_settings(
    auth: AccountServer, key: SigningKey, navigator_url: str, **extra: Any
) -> dict[str, Any]:
    return {
        "integration_key": "7c2b8d7e-1111-4c3d-9e8f-aabbccddeeff",
        "user_id": "45a1f0e2-2222-4b3c-8d9e-112233445566",
        "private_key": key.pem,
        "account_id": ACCOUNT_ID,
        "auth_server": auth.url,
        "navigator_url": navigator_url,
        **extra,
    }


@asynccontextmanager
async def docusign_gateway(
    tmp_path: Path,
    key: SigningKey,
    *,
    esignature: str,
    navigator: str,
    prism: bool = False,
    auth: AccountServer | None = None,
    **overrides: Any,
) -> AsyncIterator[Rig]:
    """The gateway, its account server (``auth``, running, or a new one), and recorders in
    front of ``esignature`` and ``navigator`` (through a ``PreferProxy`` each when
    ``prism``)."""
    async with AsyncExitStack() as stack:
        if auth is None:
            auth = await stack.enter_async_context(AccountServer(key.public).running())
        fronts: list[PreferProxy] = []
        if prism:
            esignature_front = PreferProxy(esignature, strip="/restapi")
            navigator_front = PreferProxy(navigator)
            fronts = [esignature_front, navigator_front]
            for front in fronts:
                await stack.enter_async_context(front)
            esignature, navigator = esignature_front.url, navigator_front.url
        esignature_recorder = await stack.enter_async_context(VendorRecorder(esignature))
        navigator_recorder = await stack.enter_async_context(VendorRecorder(navigator))
        auth.base_uri = esignature_recorder.url
        extra = overrides.pop("account", {})
        settings = gateway_settings(
            tmp_path,
            contract_intel=account_settings(auth, key, navigator_recorder.url, **extra),
            reliability={"backoff_scale": 0.001, "breaker_failure_threshold": 1000},
            **overrides,
        )
        gw = await stack.enter_async_context(running_gateway(settings))
        yield Rig(gw, auth, esignature_recorder, navigator_recorder, fronts)
