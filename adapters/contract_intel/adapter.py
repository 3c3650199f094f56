"""The ``contract_intel`` connector: the gateway's Adapter lifecycle around DocuSign
eSignature (envelopes) and Navigator (agreements), and the lookup of a lost envelope.

Three HTTP clients per account, one per DocuSign host: the account server (token, user-info),
eSignature at the account's base URI (known once user-info has answered) and Navigator.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Mapping
from typing import Any

from pydantic import BaseModel, ValidationError

from adapters.http import VendorHttpClient, VendorResponse
from adapters.shared.lifecycle import Lifecycle, load_secret
from gateway.contract import (
    AttemptContext,
    ConnectorMetadata,
    Lookup,
    ProbeResult,
    VendorContact,
)
from gateway.errors import (
    ExecutionResultMissing,
    GatewayError,
    InvalidPayload,
    UnknownOperation,
    VendorRejected,
)

from . import agreements, envelopes
from .account import ContractIntelAccount
from .auth import AccountLocation, DocuSignAuth, Grant
from .calls import Budget, authorized
from .errors import esignature_error, navigator_error
from .metadata import METADATA
from .operations import (
    EnvelopeSent,
    GetAgreement,
    GetEnvelope,
    ListAgreements,
    SendEnvelope,
    VoidEnvelope,
)

VENDOR = "docusign"


class ContractIntelAdapter:
    """One DocuSign account. Satisfies ``gateway.contract.Adapter`` and ``Reconciler``."""

    def __init__(
        self, account: ContractIntelAccount, *, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self._account = account
        self._clock = clock
        self._auth_client = VendorHttpClient(f"{VENDOR} account server", account.auth_url)
        self._navigator = VendorHttpClient(
            f"{VENDOR} navigator",
            account.navigator_base + agreements.NAVIGATOR_PATH,
            error_parser=navigator_error,
        )
        self._esignature: VendorHttpClient | None = None  # once the base URI is known
        self._esignature_lock = asyncio.Lock()
        self._auth = Lifecycle(
            "contract_intel",
            self._open,
            self._close,
            configured=lambda: self.configured,
            needs="integration_key, user_id and a private key",
        )

    @property
    def metadata(self) -> ConnectorMetadata:
        return METADATA

    @property
    def configured(self) -> bool:
        return self._account.complete

    async def initialize(self) -> None:
        """Reads the private key and opens the clients. Makes no connection."""
        await self._auth.initialize()

    async def _open(self) -> DocuSignAuth:
        grant = await self._grant()
        for client in self._clients():
            await client.start()  # reopens the clients a shutdown closed
        return DocuSignAuth(
            self._auth_client, grant, account_id=self._account.account_id, clock=self._clock
        )

    async def _grant(self) -> Grant:
        key = await load_secret(
            self._account.resolved_private_key,
            unreadable="contract_intel: cannot read private_key_file",
            empty="contract_intel: the private key is empty",
        )
        account = self._account
        return Grant(
            integration_key=account.integration_key or "",
            user_id=account.user_id or "",
            audience=account.audience,
            scopes=account.scopes,
            private_key_pem=key,
        )

    async def _close(self, auth: DocuSignAuth) -> None:
        auth.tokens.forget()
        for client in self._clients():
            await client.close()

    def _clients(self) -> list[VendorHttpClient]:
        clients = (self._auth_client, self._navigator, self._esignature)
        return [client for client in clients if client is not None]

    async def _esignature_at(self, budget: Budget) -> tuple[DocuSignAuth, VendorHttpClient, str]:
        """The eSignature client at the account's base URI, and the account id."""
        auth = await self._auth.get()
        where = await auth.location(budget.left())
        return auth, await self._esignature_client(where), where.account_id

    async def _esignature_client(self, where: AccountLocation) -> VendorHttpClient:
        async with self._esignature_lock:
            if self._esignature is None:
                self._esignature = VendorHttpClient(
                    VENDOR,
                    where.base_uri + envelopes.ESIGNATURE_PATH,
                    error_parser=esignature_error,
                )
                await self._esignature.start()
            return self._esignature

    async def _esignature_call(
        self,
        method: str,
        path: Callable[[str], str],
        budget: Budget,
        *,
        what: str,
        contact: VendorContact | None = None,
        json: Any = None,
        params: Mapping[str, str] | None = None,
    ) -> VendorResponse:
        """One eSignature request; ``path`` gives the path for the account id."""
        auth, client, account_id = await self._esignature_at(budget)
        return await authorized(
            auth,
            client,
            method,
            path(account_id),
            budget=budget,
            what=what,
            contact=contact,
            json=json,
            params=params,
        )

    async def _navigator_call(
        self,
        path: Callable[[str], str],
        budget: Budget,
        *,
        what: str,
        contact: VendorContact,
        params: Mapping[str, str] | None = None,
    ) -> VendorResponse:
        """One Navigator read; Navigator takes the same account id as eSignature."""
        auth = await self._auth.get()
        account_id = self._account.account_id
        if account_id is None:
            account_id = (await auth.location(budget.left())).account_id
        return await authorized(
            auth,
            self._navigator,
            "GET",
            path(account_id),
            budget=budget,
            what=what,
            contact=contact,
            params=params,
        )

    # --- operations ---------------------------------------------------------------------------

    async def execute(
        self, operation: str, payload: BaseModel, ctx: AttemptContext
    ) -> Mapping[str, Any]:
        budget = Budget(ctx.timeout_s)
        if operation == "send_envelope" and isinstance(payload, SendEnvelope):
            return await self._send(payload, ctx, budget)
        if operation == "void_envelope" and isinstance(payload, VoidEnvelope):
            return await self._void(payload.envelopeId, payload.voidedReason, ctx, budget)
        if operation == "get_envelope" and isinstance(payload, GetEnvelope):
            return await self._get_envelope(payload.envelopeId, ctx, budget)
        if operation == "list_agreements" and isinstance(payload, ListAgreements):
            return await self._list_agreements(payload, ctx, budget)
        if operation == "get_agreement" and isinstance(payload, GetAgreement):
            return await self._get_agreement(payload.agreementId, ctx, budget)
        if METADATA.operation(operation) is None:
            raise UnknownOperation(f"the contract_intel connector has no operation {operation!r}")
        raise InvalidPayload(
            f"contract_intel.{operation} does not take a {type(payload).__name__} payload"
        )

    async def _send(
        self, payload: SendEnvelope, ctx: AttemptContext, budget: Budget
    ) -> dict[str, Any]:
        definition = envelopes.envelope_definition(
            payload, marker_field=self._account.marker_field, marker=ctx.marker
        )
        response = await self._esignature_call(
            "POST",
            envelopes.envelopes_path,
            budget,
            what="envelope",
            contact=ctx.contact,
            json=definition,
        )
        return envelopes.sent_summary(response.body, response.status)

    async def _void(
        self, envelope_id: str, reason: str, ctx: AttemptContext, budget: Budget
    ) -> dict[str, Any]:
        try:
            response = await self._esignature_call(
                "PUT",
                lambda account_id: envelopes.envelope_path(account_id, envelope_id),
                budget,
                what="envelope",
                contact=ctx.contact,
                json=envelopes.void_body(reason),
            )
        except VendorRejected as refusal:
            # A void DocuSign refuses may be one it already did: a PUT whose connection
            # dropped is sent again by the HTTP library, and the repeat is refused.
            if await self._voided(envelope_id, ctx, budget):
                return {"envelope_id": envelope_id, "status": "voided", "already_voided": True}
            raise refusal from None
        return envelopes.voided(envelope_id, response.body)

    async def _voided(self, envelope_id: str, ctx: AttemptContext, budget: Budget) -> bool:
        """Whether the envelope is voided now; False when that cannot be learned."""
        try:
            status = await self._get_envelope(envelope_id, ctx, budget)
        except GatewayError:
            return False
        return status.get("status") == "voided"

    async def _get_envelope(
        self, envelope_id: str, ctx: AttemptContext, budget: Budget
    ) -> dict[str, Any]:
        response = await self._esignature_call(
            "GET",
            lambda account_id: envelopes.envelope_path(account_id, envelope_id),
            budget,
            what="envelope",
            contact=ctx.contact,
        )
        return envelopes.envelope_status(response.body, response.status)

    async def _list_agreements(
        self, payload: ListAgreements, ctx: AttemptContext, budget: Budget
    ) -> dict[str, Any]:
        response = await self._navigator_call(
            agreements.agreements_path,
            budget,
            what="agreement list",
            contact=ctx.contact,
            params=agreements.list_params(payload),
        )
        return agreements.agreements_page(response.body, response.status)

    async def _get_agreement(
        self, agreement_id: str, ctx: AttemptContext, budget: Budget
    ) -> dict[str, Any]:
        response = await self._navigator_call(
            lambda account_id: agreements.agreement_path(account_id, agreement_id),
            budget,
            what="agreement",
            contact=ctx.contact,
        )
        return agreements.agreement(response.body, response.status)

    # --- undo and lookup ----------------------------------------------------------------------

    async def compensate(
        self, operation: str, original: Mapping[str, Any], ctx: AttemptContext
    ) -> Mapping[str, Any]:
        if operation != "void_envelope":
            raise UnknownOperation(f"contract_intel has no undo {operation!r}")
        try:
            sent = EnvelopeSent.model_validate(original)
        except ValidationError:
            raise ExecutionResultMissing(
                "the envelope to void is not in the execution's result"
            ) from None
        budget = Budget(ctx.timeout_s)
        return await self._void(sent.envelope_id, self._account.void_reason, ctx, budget)

    async def reconcile(self, operation: str, payload: BaseModel, ctx: AttemptContext) -> Lookup:
        """Whether DocuSign acted on a request whose answer was lost.

        A sent envelope is found by the marker it carries; a void by the envelope's status.
        The undo of a send is not looked up: its lookup is not given the envelope's id."""
        budget = Budget(ctx.timeout_s)
        if operation == "send_envelope" and isinstance(payload, SendEnvelope) and ctx.marker:
            marker_field = self._account.marker_field
            response = await self._esignature_call(
                "GET",
                envelopes.envelopes_path,
                budget,
                what="envelope list",
                params=envelopes.lookup_params(
                    marker_field=marker_field,
                    marker=ctx.marker,
                    window_days=self._account.lookup_window_days,
                ),
            )
            found = envelopes.marked_envelope(
                response.body, marker_field=marker_field, marker=ctx.marker
            )
            return Lookup(found=found is not None, result=found or {})
        if operation == "void_envelope" and isinstance(payload, VoidEnvelope):
            # A read that fails leaves the outcome unknown; it never says "not acted".
            status = await self._get_envelope(payload.envelopeId, ctx, budget)
            if status.get("status") == "voided":
                return Lookup(True, {"envelope_id": payload.envelopeId, "status": "voided"})
            return Lookup(False)
        raise UnknownOperation(f"contract_intel cannot look up {operation!r} at DocuSign")

    # --- health and shutdown ------------------------------------------------------------------

    async def health_check(self) -> ProbeResult:
        """Reads the account resource (``GET …/accounts/{accountId}``): the token, user-info and
        eSignature answer. The detail names the failure's reason and status, never DocuSign's
        words."""
        if not self.configured:
            return ProbeResult(False, "not configured: integration_key, user_id and a key")
        budget = Budget(self._account.probe_timeout_s)
        try:
            await self._esignature_call("GET", envelopes.account_path, budget, what="account")
        except GatewayError as error:
            status = error.metadata.get("vendor_status")
            said = f", vendor status {status}" if status else ""
            return ProbeResult(False, f"account read failed: {error.reason}{said}", error)
        return ProbeResult(True, "account read")

    async def shutdown(self) -> None:
        """Refuses new calls and closes every client."""
        await self._auth.shutdown()
