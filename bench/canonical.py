"""Measures canonical JSON (RFC 8785) against the reference ``rfc8785.dumps``, on what a
keyed email Execute canonicalizes: its payload (the digest), its key's fingerprint, and its
two audit rows (the redacted payload, the detail and the row hash: the writer's work per row
before, and now that it canonicalizes each form once). Prints a Markdown section to add to
bench/RESULTS.md.

    python -m bench.canonical
"""

from __future__ import annotations

import hashlib
import platform
import time
import timeit
from collections.abc import Callable
from typing import Any

import rfc8785

from adapters.email.operations import SendEmail
from gateway.audit.chain import GENESIS, EventJson, row_content
from gateway.canonical import canonical_json
from gateway.contract import DataClassification
from gateway.redaction import redact

PAYLOAD = SendEmail.model_validate(
    {
        "to": ["customer@example.com", "accounts@example.org"],
        "cc": ["manager@example.com"],
        "subject": "Your order 10442 has shipped",
        "text": "Hello Jane,\n\nyour order is on its way and should arrive on Thursday.\n" * 12,
        "reply_to": "support@example.com",
    }
).model_dump(mode="json", exclude_defaults=True)
REDACTED = redact(PAYLOAD, DataClassification.CONFIDENTIAL)
DETAIL: dict[str, str] = {}
FINGERPRINT = {  # what an idempotency key is bound to
    "connector_key": "email",
    "operation": "send",
    "payload_digest": hashlib.sha256(b"payload").hexdigest(),
}


def event_columns(payload_redacted: str, detail: str) -> dict[str, Any]:
    return {
        "event_type": "email_sent",
        "tenant": "acme",
        "caller": "jwt:https://issuer.example#billing-agent",
        "rpc_method": "/connectorgateway.v1.ConnectorService/Execute",
        "connector_key": "email",
        "operation": "send",
        "execution_id": "ex_5f0c3b9a7d2e4c61",
        "idempotency_key": "order-10442-shipped",
        "payload_digest": hashlib.sha256(b"payload").hexdigest(),
        "payload_redacted": payload_redacted,
        "outcome": "succeeded",
        "status_code": "OK",
        "reason": "",
        "attempts": 1,
        "latency_ms": 38.512,
        "trace_id": "4bf92f3577b34da6a3ce929d0e0e4736",
        "detail": detail,
    }


ASSIGNED = {
    "seq": 120_431,
    "event_id": "0f8fad5bd9cb469fa16570867728950e",
    "occurred_at": "2026-11-28T10:15:02.123456Z",
    "prev_hash": GENESIS,
}
ROW = {**event_columns(canonical_json(REDACTED).decode(), "{}"), **ASSIGNED}


def row_before() -> str:
    """The writer's canonical JSON per row before: each form, a check, then the row hash."""
    columns = event_columns(rfc8785.dumps(REDACTED).decode(), rfc8785.dumps(DETAIL).decode())
    rfc8785.dumps(columns)
    return hashlib.sha256(rfc8785.dumps(row_content({**columns, **ASSIGNED}))).hexdigest()


def row_now() -> str:
    """The writer's canonical JSON per row now: each form once, the row hash reusing it."""
    columns = event_columns(canonical_json(REDACTED).decode(), canonical_json(DETAIL).decode())
    return EventJson.of(columns).row_hash({**columns, **ASSIGNED})


def call_before() -> None:
    rfc8785.dumps(PAYLOAD)
    rfc8785.dumps(FINGERPRINT)
    row_before()
    row_before()


def call_now() -> None:
    canonical_json(PAYLOAD)
    canonical_json(FINGERPRINT)
    row_now()
    row_now()


def microseconds(work: Callable[[], object]) -> float:
    """The best of many short runs: on a shared machine, the runs nothing interrupted."""
    runs = 300
    return min(timeit.repeat(work, number=runs, repeat=150)) / runs * 1e6


def main() -> None:
    assert row_before() == row_now()
    lines = [
        f"## Canonical JSON (RFC 8785) per governed call ({time.strftime('%Y-%m-%d')})",
        "",
        f"- machine: {platform.machine()}, Python {platform.python_version()}; best of 150 runs of",
        "  300, microseconds per operation (`python -m bench.canonical`)",
        "",
        "| what | before (rfc8785) | now | speedup |",
        "| --- | ---: | ---: | ---: |",
    ]
    cases: list[tuple[str, Callable[[], object], Callable[[], object]]] = [
        (
            f"email payload ({len(canonical_json(PAYLOAD))} bytes)",
            lambda: rfc8785.dumps(PAYLOAD),
            lambda: canonical_json(PAYLOAD),
        ),
        ("its redacted copy", lambda: rfc8785.dumps(REDACTED), lambda: canonical_json(REDACTED)),
        (
            "an audit row's columns",
            lambda: rfc8785.dumps(row_content(ROW)),
            lambda: canonical_json(row_content(ROW)),
        ),
        (
            "the key's fingerprint",
            lambda: rfc8785.dumps(FINGERPRINT),
            lambda: canonical_json(FINGERPRINT),
        ),
        ("the writer's work per row", row_before, row_now),
        ("a keyed Execute: payload, fingerprint, two rows", call_before, call_now),
    ]
    for name, before, now in cases:
        slow, fast = microseconds(before), microseconds(now)
        lines.append(f"| {name} | {slow:.1f} | {fast:.1f} | {slow / fast:.1f}x |")
    print("\n".join([*lines, ""]))


if __name__ == "__main__":
    main()
