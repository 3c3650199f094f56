"""The ``salesforce`` connector: the gateway's Adapter lifecycle around one org's REST API,
and the lookup that settles a create whose answer was lost."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from typing import Any, TypeVar

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from pydantic import BaseModel, ValidationError

from adapters.http import VendorHttpClient
from adapters.shared.lifecycle import Lifecycle, load_secret
from gateway.contract import AttemptContext, ConnectorMetadata, Lookup, ProbeResult
from gateway.errors import (
    GatewayError,
    InvalidPayload,
    NotCompensable,
    NotConfigured,
    ShuttingDown,
    UnknownOperation,
    VendorBadResponse,
    VendorLookupUnavailable,
)

from . import calls
from .account import SalesforceAccount
from .auth import Grant, OrgSession
from .errors import parse_error
from .metadata import (
    CREATE_RECORD,
    DELETE_RECORD,
    GET_RECORD,
    METADATA,
    QUERY,
    RESTORE_RECORD,
    UPDATE_RECORD,
    UPSERT_BY_EXTERNAL_ID,
)
from .operations import (
    CreateRecord,
    DeleteRecord,
    GetRecord,
    QueryRecords,
    RecordRef,
    RestoreRecord,
    UpdatedRecord,
    UpdateRecord,
    UpsertByExternalId,
    UpsertedRecord,
)
from .probe import DEFAULT_PROBE_TIMEOUT_S, probe_limits
from .rest import VENDOR, Budget, SalesforceRest

RecordRefT = TypeVar("RecordRefT", bound=RecordRef)
Run = Callable[[Any, AttemptContext, Budget], Awaitable[dict[str, Any]]]


def _checked_key(pem: str) -> str:
    """``pem`` once it is known to load as an RSA private key; never quoted in an error."""
    try:
        key = serialization.load_pem_private_key(pem.encode(), password=None)
    except (ValueError, TypeError, UnicodeError):
        key = None
    if not isinstance(key, rsa.RSAPrivateKey):
        raise NotConfigured(
            "salesforce: the private key is not an unencrypted PEM RSA private key",
            metadata={"connector_key": METADATA.key},
        )
    return pem


class SalesforceAdapter:
    """One org. Satisfies ``gateway.contract.Adapter`` and ``Reconciler``."""

    def __init__(
        self, account: SalesforceAccount, *, probe_timeout_s: float = DEFAULT_PROBE_TIMEOUT_S
    ) -> None:
        self._account = account
        self._probe_timeout_s = probe_timeout_s
        self._login = VendorHttpClient(VENDOR, account.login_url, error_parser=parse_error)
        self._rest = Lifecycle(
            "salesforce",
            self._open,
            self._close,
            shutting_down="the salesforce connector is shutting down; nothing was sent",
        )
        self._runs: dict[str, tuple[type[BaseModel], Run]] = {
            GET_RECORD: (GetRecord, self._get_record),
            QUERY: (QueryRecords, self._query),
            CREATE_RECORD: (CreateRecord, self._create_record),
            UPDATE_RECORD: (UpdateRecord, self._update_record),
            UPSERT_BY_EXTERNAL_ID: (UpsertByExternalId, self._upsert),
            DELETE_RECORD: (DeleteRecord, self._delete_record),
            RESTORE_RECORD: (RestoreRecord, self._restore_record),
        }

    def __repr__(self) -> str:  # never shows the account's key
        return f"SalesforceAdapter(login_url={self._account.login_url!r})"

    @property
    def metadata(self) -> ConnectorMetadata:
        return METADATA

    @property
    def configured(self) -> bool:
        return True  # the account model requires everything the adapter needs

    async def initialize(self) -> None:
        """Reads and checks the private key and opens the login client. Makes no connection:
        the first call obtains the token."""
        await self._rest.initialize()

    async def _open(self) -> SalesforceRest:
        pem = await load_secret(
            self._account.resolved_private_key,
            unreadable="salesforce: cannot read private_key_file",
            empty="salesforce: the private key is empty",
            metadata={"connector_key": METADATA.key},
        )
        grant = Grant(
            login_url=self._account.login_url,
            consumer_key=self._account.consumer_key,
            username=self._account.username,
            private_key_pem=_checked_key(pem),
        )
        await self._login.start()
        return SalesforceRest(OrgSession(grant, self._login), self._account.api_version)

    async def _close(self, rest: SalesforceRest) -> None:
        await rest.close()
        await self._login.close()

    # --- operations --------------------------------------------------------------------------

    async def execute(
        self, operation: str, payload: BaseModel, ctx: AttemptContext
    ) -> Mapping[str, Any]:
        found = self._runs.get(operation)
        if found is None:
            raise UnknownOperation(
                f"the salesforce connector has no operation {operation!r}",
                metadata={"connector_key": METADATA.key, "operation": operation},
            )
        model, run = found
        if not isinstance(payload, model):
            raise InvalidPayload(
                f"salesforce.{operation} takes a {model.__name__} payload, "
                f"not {type(payload).__name__}"
            )
        return await run(payload, ctx, Budget(ctx.timeout_s))

    async def _get_record(
        self, p: GetRecord, ctx: AttemptContext, budget: Budget
    ) -> dict[str, Any]:
        return await calls.get_record(await self._rest.get(), p, budget)

    async def _query(self, p: QueryRecords, ctx: AttemptContext, budget: Budget) -> dict[str, Any]:
        return await calls.query(await self._rest.get(), p, budget)

    async def _create_record(
        self, p: CreateRecord, ctx: AttemptContext, budget: Budget
    ) -> dict[str, Any]:
        marker_field = self._account.external_id_fields.get(p.record.sobject)
        return await calls.create_record(await self._rest.get(), p, ctx, budget, marker_field)

    async def _update_record(
        self, p: UpdateRecord, ctx: AttemptContext, budget: Budget
    ) -> dict[str, Any]:
        return await calls.update_record(await self._rest.get(), p, ctx, budget)

    async def _upsert(
        self, p: UpsertByExternalId, ctx: AttemptContext, budget: Budget
    ) -> dict[str, Any]:
        fields = self._account.external_id_fields
        return await calls.upsert_by_external_id(await self._rest.get(), p, ctx, budget, fields)

    async def _delete_record(
        self, p: DeleteRecord, ctx: AttemptContext, budget: Budget
    ) -> dict[str, Any]:
        return await calls.delete(await self._rest.get(), p, ctx, budget)

    async def _restore_record(
        self, p: RestoreRecord, ctx: AttemptContext, budget: Budget
    ) -> dict[str, Any]:
        return await calls.restore(await self._rest.get(), p, ctx, budget)

    # --- undo --------------------------------------------------------------------------------

    async def compensate(
        self, operation: str, original: Mapping[str, Any], ctx: AttemptContext
    ) -> Mapping[str, Any]:
        """Undoes the execution whose result is ``original``: ``delete_record`` deletes what a
        create made; ``restore_record`` writes back what an update or upsert replaced, or
        deletes what an upsert created."""
        rest, budget = await self._rest.get(), Budget(ctx.timeout_s)
        if operation == DELETE_RECORD:
            created = _original(RecordRef, original, operation)
            return await calls.delete_record(rest, created.sobject, created.id, ctx, budget)
        if operation != RESTORE_RECORD:
            raise NotCompensable(
                f"salesforce.{operation} undoes nothing",
                metadata={"connector_key": METADATA.key, "operation": operation},
            )
        if "created" in original:
            upserted = _original(UpsertedRecord, original, operation)
            if upserted.created:
                return await calls.delete_record(rest, upserted.sobject, upserted.id, ctx, budget)
            previous = upserted.previous or {}
            return await calls.restore_record(
                rest, upserted.sobject, upserted.id, previous, ctx, budget
            )
        updated = _original(UpdatedRecord, original, operation)
        return await calls.restore_record(
            rest, updated.sobject, updated.id, updated.previous, ctx, budget
        )

    # --- unknown outcomes --------------------------------------------------------------------

    async def reconcile(self, operation: str, payload: BaseModel, ctx: AttemptContext) -> Lookup:
        """Whether a create whose answer was lost made its record: looked up by the marker
        it wrote into the type's external id field. Nothing else can be looked up (an
        update's earlier values are gone once it acted), so it stays unknown."""
        if operation != CREATE_RECORD or not isinstance(payload, CreateRecord):
            raise _no_lookup(ctx, f"salesforce cannot tell whether {operation} acted")
        sobject = payload.record.sobject
        field = self._account.external_id_fields.get(sobject)
        if field is None or not ctx.marker:
            raise _no_lookup(
                ctx,
                f"salesforce cannot look up the {sobject}: the account names no external id "
                "field for it",
            )
        rest = await self._rest.get()
        path = calls.by_external_id(sobject, field, ctx.marker)
        try:
            response = await rest.request(
                "GET", path, params={"fields": "Id"}, budget=Budget(ctx.timeout_s)
            )
        except GatewayError as error:
            if error.metadata.get("vendor_status") == "404":
                return Lookup(found=False)
            raise
        body = response.body if isinstance(response.body, dict) else {}
        try:
            found = RecordRef.model_validate({"sobject": sobject, "id": body.get("Id")})
        except ValidationError:
            raise VendorBadResponse(
                "salesforce answered the lookup without a record id", may_have_acted=False
            ) from None
        return Lookup(found=True, result=found.model_dump())

    # --- health and lifecycle ----------------------------------------------------------------

    async def health_check(self) -> ProbeResult:
        try:
            rest = await self._rest.get()
        except (NotConfigured, ShuttingDown) as exc:
            return ProbeResult(False, exc.message, exc)
        return await probe_limits(rest, self._probe_timeout_s)

    async def shutdown(self) -> None:
        """Drops the token and closes every connection; a later ``initialize`` starts
        afresh. Never raises."""
        await self._rest.shutdown()


def _no_lookup(ctx: AttemptContext, message: str) -> VendorLookupUnavailable:
    return VendorLookupUnavailable(
        message, metadata={"execution_id": ctx.execution_id, "why": "no_lookup"}
    )


def _original(model: type[RecordRefT], original: Mapping[str, Any], operation: str) -> RecordRefT:
    try:
        return model.model_validate(original)
    except ValidationError:
        raise NotCompensable(
            f"the execution's result holds no record for salesforce.{operation} to undo",
            metadata={"connector_key": METADATA.key, "operation": operation},
        ) from None
