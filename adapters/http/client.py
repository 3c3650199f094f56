"""One HTTP client for every HTTP vendor adapter, mapping each outcome to the domain errors.

Each adapter owns one ``VendorHttpClient`` (one ``aiohttp.ClientSession``, one connection
pool). ``request`` bounds the whole exchange (connect, send, read the body) by the attempt's
timeout, traces it in a span of its own within a call's attempt (``gateway.vendor_trace``:
method, server, status and outcome; the path only for connectors whose data may show) whose
W3C context it sends in the ``traceparent`` header, and maps every failure to one
``gateway.errors`` class, keeping the vendor's own status, code and
message in the error metadata (``vendor_status``, ``vendor_code``, ``vendor_message``). What
the vendor says, and what a transport error says (``transport_detail``), stays in the
metadata, which the gateway redacts by the connector's data classification; messages name
only the vendor, the method, the path and the status. No query string reaches either.

A response body is read up to ``max_response_bytes`` (4 MiB unless the adapter says
otherwise), never further: a larger answer is ``VENDOR_BAD_RESPONSE``.

Whether the vendor may have acted is decided by how far the request got, which an aiohttp
``TraceConfig`` records per request:

* ``connect``: no connection exists yet (DNS, TCP, TLS, waiting for a pooled connection).
  Nothing was sent, so a failure here is provably harmless (``may_have_acted`` False).
* ``request``: a connection exists and the request is being written. Bytes may already be
  on the wire, so the vendor may have acted.
* ``response``: the request headers were sent; the vendor may have acted.

A connection that drops after it was established looks the same to the client whether the
vendor read the request or not (see ``tests/support/fault_vendor.py``), so it always counts
as possibly acted.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import contextlib
import email.utils
import enum
import http
import json as jsonlib
import math
import re
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from types import SimpleNamespace
from typing import Any

import aiohttp
from multidict import CIMultiDict
from opentelemetry import propagate
from opentelemetry.semconv.attributes.http_attributes import (
    HTTP_REQUEST_METHOD,
    HTTP_RESPONSE_STATUS_CODE,
)
from opentelemetry.semconv.attributes.server_attributes import SERVER_ADDRESS, SERVER_PORT
from opentelemetry.semconv.attributes.url_attributes import URL_PATH
from opentelemetry.trace import Span
from opentelemetry.util.types import AttributeValue
from yarl import URL

from gateway.contract import VendorContact
from gateway.credentials import scrub
from gateway.errors import (
    DeadlineExceeded,
    GatewayError,
    NotConfigured,
    ShuttingDown,
    VendorAuthFailed,
    VendorBadResponse,
    VendorError,
    VendorRateLimited,
    VendorRejected,
    VendorUnavailable,
)
from gateway.vendor_trace import vendor_span

ErrorParser = Callable[[int, Any], tuple[str, str]]

VENDOR_MESSAGE_CHARS = 300  # how much of the vendor's own message is kept
VENDOR_CODE_CHARS = 100
DEFAULT_MAX_RESPONSE_BYTES = 4 * 1024 * 1024
_DETAIL_CHARS = 200  # how much of a transport error's text is kept
_READ_CHUNK_BYTES = 64 * 1024
# A vendor's code is a token (card_declined, 21211, INVALID_FIELD); anything else is text.
_CODE_TOKEN = re.compile(r"[A-Za-z0-9_.:-]{1,100}")
# The query of any URL in a text (aiohttp's exception texts quote the whole URL).
_URL_QUERY = re.compile(r"(\w+://[^\s?#'\"]*)[?#][^\s'\"]*")
# The outer guard only stops a request that aiohttp's own total timeout failed to stop.
_GUARD_GRACE_S = 0.5
# Header names whose values are credentials, matched on the lowercased name.
_SECRET_HEADERS = frozenset({"authorization", "proxy-authorization", "cookie"})
_SECRET_NAME_PARTS = ("token", "secret", "password", "api-key", "apikey", "api_key")
_MIN_SECRET_CHARS = 6  # shorter fragments (a scheme name) are not scrubbed on their own


class Phase(enum.StrEnum):
    """How far a request got; errors carry it as the ``phase`` metadata."""

    CONNECT = "connect"  # no connection yet: nothing was sent
    REQUEST = "request"  # connected, the request is being written
    RESPONSE = "response"  # the request headers were sent; waiting for or reading the answer


@dataclass(frozen=True)
class VendorResponse:
    """A 2xx answer: its status, headers (case-insensitive) and parsed JSON body."""

    status: int
    headers: Mapping[str, str]
    body: Any  # the parsed JSON; None for an empty body


_PHASE_ORDER = {phase: index for index, phase in enumerate(Phase)}


class _Progress:
    """The phase one request has reached, written by the trace callbacks; from ``request``
    on, the attempt's ``VendorContact`` hears that the vendor may act."""

    __slots__ = ("contact", "phase")

    def __init__(self, contact: VendorContact | None) -> None:
        self.phase = Phase.CONNECT
        self.contact = contact

    def advance(self, phase: Phase) -> None:
        if _PHASE_ORDER[phase] > _PHASE_ORDER[self.phase]:
            self.phase = phase
            if self.contact is not None:
                self.contact.may_have_acted()


def _progress(ctx: SimpleNamespace) -> _Progress | None:
    progress = getattr(ctx, "trace_request_ctx", None)
    return progress if isinstance(progress, _Progress) else None


async def _on_connected(session: aiohttp.ClientSession, ctx: SimpleNamespace, params: Any) -> None:
    if (progress := _progress(ctx)) is not None:
        progress.advance(Phase.REQUEST)


async def _on_headers_sent(
    session: aiohttp.ClientSession, ctx: SimpleNamespace, params: Any
) -> None:
    if (progress := _progress(ctx)) is not None:
        progress.advance(Phase.RESPONSE)


def _trace_config() -> aiohttp.TraceConfig:
    config = aiohttp.TraceConfig()
    config.on_connection_create_end.append(_on_connected)
    config.on_connection_reuseconn.append(_on_connected)
    config.on_request_headers_sent.append(_on_headers_sent)
    return config


# --- the vendor's own error code and message -------------------------------------------------


def _text(value: Any) -> str:
    if value is None or isinstance(value, Mapping | list):
        return ""
    return " ".join(str(value).split())


def default_error_parser(status: int, body: Any) -> tuple[str, str]:
    """The vendor's (code, message) from the common error shapes; empty strings if none.

    Understands ``{"error": {"code"|"type", "message"}}`` (Stripe, Meta/WhatsApp),
    ``{"error": "code", "error_description": ...}`` (OAuth), ``{"code", "message"}``
    (Twilio), ``{"errors": [{...}]}`` and a list of ``{"errorCode", "message"}``
    (Salesforce). A body that is not JSON is taken as the message.
    """
    if isinstance(body, list):
        first = body[0] if body else None
        return default_error_parser(status, first) if isinstance(first, Mapping) else ("", "")
    if isinstance(body, str):
        return "", _text(body)
    if not isinstance(body, Mapping):
        return "", ""
    error = body.get("error")
    if isinstance(error, Mapping):
        code = error.get("code")
        if code is None or code == "":
            code = error.get("type")
        return _text(code), _text(error.get("message") or error.get("error_user_msg"))
    if isinstance(error, str):
        message = body.get("error_description") or body.get("message")
        return _text(error), _text(message)
    errors = body.get("errors")
    if isinstance(errors, list) and errors and isinstance(errors[0], Mapping):
        return default_error_parser(status, errors[0])
    code = next(
        (body[k] for k in ("code", "errorCode", "error_code") if body.get(k) not in (None, "")),
        None,
    )
    message = next(
        (body[k] for k in ("message", "detail", "error_message") if body.get(k)),
        None,
    )
    return _text(code), _text(message)


# --- Retry-After -----------------------------------------------------------------------------


def retry_after_ms(
    value: str | None, *, cap_s: float, now: Callable[[], float] = time.time
) -> int | None:
    """Retry-After as milliseconds: delta-seconds or an HTTP-date, capped at ``cap_s``.

    None when absent or unreadable (the error class's ``default_retry_after_ms`` applies).
    """
    if value is None or not value.strip():
        return None
    value = value.strip()
    seconds: float
    try:
        seconds = float(value)
    except ValueError:
        try:
            when = email.utils.parsedate_to_datetime(value)
        except (TypeError, ValueError, IndexError):
            return None
        if when.tzinfo is None:  # RFC 9110 dates are GMT; a naive date is read as UTC
            return None
        seconds = when.timestamp() - now()
    if not math.isfinite(seconds):
        return None
    seconds = min(max(seconds, 0.0), cap_s)
    return math.ceil(seconds * 1000)


# --- secrets ---------------------------------------------------------------------------------


def _is_secret_header(name: str) -> bool:
    lowered = name.lower()
    return lowered in _SECRET_HEADERS or any(part in lowered for part in _SECRET_NAME_PARTS)


def _secret_values(headers: Mapping[str, str]) -> set[str]:
    """The credential values among ``headers``, with their parts a vendor might echo."""
    secrets: set[str] = set()
    for name, value in headers.items():
        if not _is_secret_header(name) or not value:
            continue
        secrets.add(value)
        scheme, _, credentials = value.partition(" ")
        credentials = credentials.strip()
        if credentials:
            secrets.add(credentials)
            if scheme.lower() == "basic":
                try:
                    decoded = base64.b64decode(credentials, validate=True).decode()
                except (binascii.Error, UnicodeDecodeError):
                    decoded = ""
                if decoded:
                    secrets.add(decoded)
                    secrets.add(decoded.partition(":")[2])
    return {s for s in secrets if len(s) >= _MIN_SECRET_CHARS}


def _clip(text: str, limit: int) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


def without_query(text: str) -> str:
    """``text`` with the query and fragment of every URL in it removed."""
    return _URL_QUERY.sub(r"\1", text)


def _detail(exc: BaseException) -> str:
    """A transport error's own text, without query strings, for the error metadata."""
    return _clip(without_query(str(exc)), _DETAIL_CHARS) or type(exc).__name__


class _TooLarge(Exception):
    """The response body went past the client's limit."""


def _reason_phrase(status: int) -> str:
    try:
        return http.HTTPStatus(status).phrase.lower()
    except ValueError:
        return "non-standard status"


# --- the client ------------------------------------------------------------------------------


class VendorHttpClient:
    """The shared HTTP client of one vendor: one session, every outcome a domain error.

    ``vendor`` names the vendor in error messages ("stripe answered 503 ..."). ``headers``
    go on every request (credentials belong here; they never appear in an error).
    ``error_parser(status, body)`` returns the vendor's own (code, message) for an error
    answer; ``body`` is the parsed JSON, the text when it is not JSON, or None.
    """

    def __init__(
        self,
        vendor: str,
        base_url: str,
        *,
        headers: Mapping[str, str] | None = None,
        error_parser: ErrorParser | None = None,
        max_retry_after_s: float = 30.0,
        max_response_bytes: int = DEFAULT_MAX_RESPONSE_BYTES,
    ) -> None:
        if "://" not in base_url:
            raise ValueError(f"{vendor}: base_url must be an absolute URL")
        if max_retry_after_s < 0:
            raise ValueError("max_retry_after_s must be >= 0")
        if max_response_bytes < 1:
            raise ValueError("max_response_bytes must be >= 1")
        self.vendor = vendor
        self.base_url = base_url.rstrip("/")
        parsed = URL(self.base_url)
        self._server: dict[str, AttributeValue] = {
            SERVER_ADDRESS: parsed.host or "",
            SERVER_PORT: parsed.port or 0,
        }
        self._base_path = parsed.path.rstrip("/")
        self._headers = dict(headers or {})
        self._error_parser = error_parser or default_error_parser
        self._max_retry_after_s = max_retry_after_s
        self.max_response_bytes = max_response_bytes
        self._session: aiohttp.ClientSession | None = None
        self._closed = False

    def __repr__(self) -> str:  # never shows the headers, which hold the credentials
        return f"VendorHttpClient(vendor={self.vendor!r}, base_url={self.base_url!r})"

    @property
    def started(self) -> bool:
        return self._session is not None and not self._session.closed

    async def start(self) -> None:
        """Opens the session (idempotent; also reopens a closed client). Makes no connection."""
        self._closed = False
        self._open()

    def _open(self) -> aiohttp.ClientSession:
        if self._session is None or self._session.closed:
            self._session = aiohttp.ClientSession(
                trace_configs=[_trace_config()],
                # Cookies set by a vendor must never carry over from one tenant's call to
                # another's; redirects are not followed (a 3xx is an unexpected answer).
                cookie_jar=aiohttp.DummyCookieJar(),
                raise_for_status=False,
                trust_env=False,
            )
            # aiohttp sends a GET, PUT or DELETE once more by itself when its connection
            # drops: an attempt the gateway would not see (a void sent twice, an attempt
            # count short by one). Every attempt is the retry policy's to make.
            self._session._retry_connection = False
        return self._session

    async def close(self) -> None:
        """Closes the session and its connections. Never raises."""
        self._closed = True
        session, self._session = self._session, None
        if session is None:
            return
        with contextlib.suppress(Exception):  # best effort: nothing can be done about it
            await session.close()

    async def request(
        self,
        method: str,
        path: str,
        *,
        timeout_s: float,
        json: Any = None,
        form: Mapping[str, str] | Sequence[tuple[str, str]] | None = None,
        params: Mapping[str, str] | None = None,
        headers: Mapping[str, str] | None = None,
        idempotency_key: str | None = None,
        idempotency_header: str = "Idempotency-Key",
        contact: VendorContact | None = None,
    ) -> VendorResponse:
        """Sends one request and returns its 2xx answer; raises ``GatewayError`` otherwise.

        ``timeout_s`` bounds everything: connecting, sending and reading the whole body.
        ``json`` and ``form`` are exclusive; ``form`` as pairs may repeat a key (Twilio's
        list parameters). ``path`` is appended to the base URL.
        ``contact`` (the attempt's) hears when the request starts leaving for the vendor.
        """
        if json is not None and form is not None:
            raise ValueError("request() takes json or form, not both")
        if "://" in path:
            raise ValueError("request() takes a path relative to the base URL")
        method = method.upper()
        where = f"{method} {path.split('?', 1)[0]}"
        all_headers: CIMultiDict[str] = CIMultiDict(self._headers)
        all_headers.update(headers or {})
        secrets = _secret_values(all_headers)
        if self._closed:
            raise ShuttingDown(f"the {self.vendor} client is closed; the request was not sent")
        if timeout_s <= 0:
            raise DeadlineExceeded(
                f"no time was left to call {self.vendor} ({where}); the request was not sent",
                metadata={"timed_out": "true", "phase": str(Phase.CONNECT)},
            )
        if idempotency_key is not None:
            all_headers[idempotency_header] = idempotency_key
        relative = path.split("?", 1)[0].lstrip("/")
        with vendor_span(
            method,
            {HTTP_REQUEST_METHOD: method, **self._server},
            from_payload={URL_PATH: f"{self._base_path}/{relative}"},
        ) as span:
            propagate.inject(all_headers)  # the W3C trace context of the request's span
            return await self._exchange(
                span,
                method,
                f"{self.base_url}/{path.lstrip('/')}",
                where,
                secrets,
                timeout_s=timeout_s,
                json=json,
                form=form,
                params=params,
                headers=all_headers,
                contact=contact,
            )

    async def _exchange(
        self,
        span: Span,
        method: str,
        url: str,
        where: str,
        secrets: set[str],
        *,
        timeout_s: float,
        json: Any,
        form: Mapping[str, str] | Sequence[tuple[str, str]] | None,
        params: Mapping[str, str] | None,
        headers: CIMultiDict[str],
        contact: VendorContact | None,
    ) -> VendorResponse:
        """One request on the session; its answer or its failure as a domain error."""
        session = self._open()
        progress = _Progress(contact)
        status: int | None = None
        try:
            async with asyncio.timeout(timeout_s + _GUARD_GRACE_S):
                async with session.request(
                    method,
                    url,
                    json=json,
                    data=_form_body(form),
                    params=params,
                    headers=headers,
                    timeout=aiohttp.ClientTimeout(total=timeout_s),
                    allow_redirects=False,
                    trace_request_ctx=progress,
                ) as response:
                    status = response.status
                    span.set_attribute(HTTP_RESPONSE_STATUS_CODE, status)
                    raw = await self._read(response)
                    response_headers = response.headers
        except _TooLarge:
            raise self._too_large(where, status) from None
        except TimeoutError as exc:
            raise scrub(
                self._timeout_error(where, progress.phase, status, timeout_s), secrets
            ) from exc
        except (aiohttp.ClientError, OSError) as exc:
            error = self._transport_error(exc, where, progress.phase, status)
            if error is None:
                raise
            raise scrub(error, secrets) from exc
        return self._answer(status, response_headers, raw, where, secrets)

    async def _read(self, response: aiohttp.ClientResponse) -> bytes:
        """The body, read no further than the limit. An error answer's body only explains
        the status, so past the limit it is dropped instead (b"")."""
        limit = self.max_response_bytes
        success = 200 <= response.status <= 299
        declared = response.content_length
        if declared is not None and declared > limit:
            if success:
                raise _TooLarge
            return b""
        body = bytearray()
        async for chunk in response.content.iter_chunked(_READ_CHUNK_BYTES):
            body += chunk
            if len(body) > limit:
                if success:
                    raise _TooLarge
                return b""
        return bytes(body)

    # --- mapping ------------------------------------------------------------------------------

    def _too_large(self, where: str, status: int | None) -> GatewayError:
        return VendorBadResponse(
            f"{self.vendor} answered {where} with a body larger than "
            f"{self.max_response_bytes} bytes, which the gateway does not read; it may have "
            "acted: check with the vendor before repeating it",
            metadata={
                "vendor_status": str(status),
                "phase": str(Phase.RESPONSE),
                "limit_bytes": str(self.max_response_bytes),
            },
        )

    def _timeout_error(
        self, where: str, phase: Phase, status: int | None, timeout_s: float
    ) -> GatewayError:
        metadata = {"timed_out": "true", "phase": str(phase)}
        if phase is Phase.CONNECT:
            return DeadlineExceeded(
                f"timed out after {timeout_s:g}s connecting to {self.vendor} for {where}; "
                "the request was not sent: retry with a longer deadline",
                metadata=metadata,
            )
        if status is not None:
            metadata["vendor_status"] = str(status)
        return DeadlineExceeded(
            f"timed out after {timeout_s:g}s waiting for {self.vendor} to answer {where}; "
            f"the request may have reached {self.vendor}: repeat it only with the same "
            "idempotency key, or check with the vendor first",
            may_have_acted=True,
            metadata=metadata,
        )

    def _transport_error(
        self, exc: BaseException, where: str, phase: Phase, status: int | None
    ) -> GatewayError | None:
        if isinstance(exc, aiohttp.InvalidURL):
            return NotConfigured(
                f"{self.vendor}: the URL for {where} is not valid; check the base URL",
                metadata={"phase": str(phase)},
            )
        if phase is Phase.CONNECT:
            return VendorUnavailable(
                f"could not connect to {self.vendor} for {where} ({_connect_detail(exc)}); "
                "the request was not sent: retry later",
                may_have_acted=False,
                metadata={"phase": str(phase)},
            )
        metadata = {"phase": str(phase), "transport_detail": _detail(exc)}
        if status is not None:
            metadata["vendor_status"] = str(status)
        kind = type(exc).__name__
        if isinstance(exc, aiohttp.ClientConnectionError | aiohttp.ClientPayloadError | OSError):
            when = (
                "while the request was being sent"
                if phase is Phase.REQUEST
                else "after the request was sent and before its full answer"
            )
            return VendorUnavailable(
                f"the connection to {self.vendor} dropped {when} ({where}: {kind}); the "
                f"request may have reached {self.vendor}: repeat it only with the same "
                "idempotency key, or check with the vendor first",
                may_have_acted=True,
                metadata=metadata,
            )
        if isinstance(exc, aiohttp.ClientError):  # e.g. an answer that is not valid HTTP
            # The parser's text quotes the vendor's bytes: metadata only.
            return VendorBadResponse(
                f"{self.vendor} answered {where} with a response that could not be read "
                f"({kind}); it may have acted: check with the vendor before repeating it",
                metadata=metadata,
            )
        return None

    def _answer(
        self,
        status: int,
        headers: Mapping[str, str],
        raw: bytes,
        where: str,
        secrets: set[str],
    ) -> VendorResponse:
        if 200 <= status <= 299:
            if not raw.strip():
                return VendorResponse(status=status, headers=headers, body=None)
            try:
                body = jsonlib.loads(raw)
            except ValueError:
                raise scrub(
                    VendorBadResponse(
                        f"{self.vendor} answered {status} to {where} with a body that is not "
                        f"valid JSON; it may have acted: check with the vendor before repeating it",
                        metadata={"vendor_status": str(status), "phase": str(Phase.RESPONSE)},
                    ),
                    secrets,
                ) from None
            return VendorResponse(status=status, headers=headers, body=body)
        raise scrub(self._status_error(status, headers, _lenient_body(raw), where), secrets)

    def _status_error(
        self, status: int, headers: Mapping[str, str], body: Any, where: str
    ) -> GatewayError:
        try:
            code, message = self._error_parser(status, body)
        except Exception:  # a parser bug must not hide the vendor's answer
            code, message = "", ""
        code = _clip(str(code or ""), VENDOR_CODE_CHARS)
        message = _clip(str(message or ""), VENDOR_MESSAGE_CHARS)
        if code and not _CODE_TOKEN.fullmatch(code):
            # Not a code but text, which may quote the request: it joins the message.
            message, code = (
                _clip(f"{code}: {message}" if message else code, VENDOR_MESSAGE_CHARS),
                "",
            )
        metadata = {"vendor_status": str(status)}
        if code:
            metadata["vendor_code"] = code
        if message:
            metadata["vendor_message"] = without_query(message)
        said = f" [{code}]" if code else ""
        answered = f"{self.vendor} answered {status} ({_reason_phrase(status)}) to {where}{said}"
        wait_ms = retry_after_ms(headers.get("Retry-After"), cap_s=self._max_retry_after_s)

        if status == 429:
            asked = f"asks to wait {wait_ms} ms" if wait_ms is not None else "asks to wait"
            return VendorRateLimited(
                f"{answered}: it did not act and {asked} before retrying",
                metadata=metadata,
                retry_after_ms=wait_ms,
            )
        if status == 503:
            return VendorUnavailable(
                f"{answered}: it did not act; retry later with the same idempotency key",
                metadata=metadata,
                retry_after_ms=wait_ms,
                may_have_acted=False,
            )
        if status in (502, 504):
            return VendorUnavailable(
                f"{answered}: a proxy in front of {self.vendor} failed and may have passed the "
                "request on; repeat it only with the same idempotency key",
                metadata=metadata,
                retry_after_ms=wait_ms,
                may_have_acted=True,
            )
        if 500 <= status <= 599:
            return VendorError(
                f"{answered}: it failed while handling the request and may have acted; "
                "check with the vendor before repeating it",
                metadata=metadata,
            )
        if status in (401, 403):
            return VendorAuthFailed(
                f"{answered}: it refused the gateway's own credentials; an operator must fix "
                f"the {self.vendor} credentials (the agent's credentials are fine)",
                metadata=metadata,
            )
        if 400 <= status <= 499:
            return VendorRejected(
                f"{answered}: it refused the request for what it contains; change the request "
                "before trying again",
                metadata=metadata,
            )
        return VendorBadResponse(
            f"{answered}, which the gateway does not expect; it may have acted: check with the "
            "vendor before repeating it",
            metadata=metadata,
        )


def _form_body(form: Mapping[str, str] | Sequence[tuple[str, str]] | None) -> Any:
    """What aiohttp url-encodes: the fields in order, a repeated key as often as given."""
    if form is None:
        return None
    return list(form.items()) if isinstance(form, Mapping) else list(form)


def _lenient_body(raw: bytes) -> Any:
    """An error answer's body: the parsed JSON, else the text, else None when empty."""
    if not raw.strip():
        return None
    try:
        return jsonlib.loads(raw)
    except ValueError:
        return raw.decode("utf-8", errors="replace")


def _connect_detail(exc: BaseException) -> str:
    if isinstance(exc, aiohttp.ClientConnectorDNSError):
        return f"could not resolve {exc.host}"
    if isinstance(exc, aiohttp.ClientSSLError):
        return f"the TLS handshake failed: {_clip(without_query(str(exc.os_error)), _DETAIL_CHARS)}"
    if isinstance(exc, aiohttp.ClientConnectorError):
        os_error = exc.os_error
        text = os_error.strerror or str(os_error) or type(os_error).__name__
        return _clip(without_query(text), _DETAIL_CHARS)
    return _clip(without_query(str(exc)), _DETAIL_CHARS) or type(exc).__name__
