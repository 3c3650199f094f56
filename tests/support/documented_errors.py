"""The error contract as docs/errors.md states it, read from its reason tables.

Tests take each reason's code, retry rule and metadata keys from here, so that the document
and the tests that hold the gateway to it cannot drift apart.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

import grpc

ERRORS_DOC = Path(__file__).resolve().parents[2] / "docs" / "errors.md"
_HTTP_STATUS = re.compile(r"\((?:HTTP )?(\d{3})\)")
_NAME = re.compile(r"`([^`]+)`")


@dataclass(frozen=True)
class DocumentedReason:
    """One row of a reason table."""

    reason: str
    code: grpc.StatusCode
    http_status: int | None  # stated for reasons answered over HTTP
    retry: str  # the "retry?" column, as written
    metadata_keys: tuple[str, ...]
    guidance: str  # what the caller should do
    http_only: bool

    @property
    def retryable(self) -> bool:
        """Retryable refusals carry a delay (RetryInfo over gRPC, Retry-After over HTTP)."""
        return self.retry.startswith("yes")

    @property
    def waits_for_the_delay(self) -> bool:
        """The caller is told to wait the delay the refusal names before retrying."""
        return "RetryInfo" in self.retry or "Retry-After" in self.retry

    @property
    def names_fields(self) -> bool:
        """A ``google.rpc.BadRequest`` names the fields to fix."""
        return "BadRequest" in self.guidance

    @property
    def leaves_audit_row(self) -> bool:
        return "no audit row" not in self.guidance


def _cells(line: str) -> list[str]:
    return [cell.strip() for cell in line.strip().strip("|").split("|")]


def _reason_row(cells: list[str], http_only: bool) -> DocumentedReason:
    reason, code_text, retry, keys, guidance = cells
    status = _HTTP_STATUS.search(code_text)
    return DocumentedReason(
        reason=reason.strip("`"),
        code=grpc.StatusCode[code_text.split()[0]],
        http_status=int(status.group(1)) if status else None,
        retry=retry,
        metadata_keys=tuple(_NAME.findall(keys)),
        guidance=guidance,
        http_only=http_only,
    )


def documented_reasons(doc: Path = ERRORS_DOC) -> dict[str, DocumentedReason]:
    """Every reason of both tables (the gRPC one, then the reasons only HTTP answers)."""
    found: dict[str, DocumentedReason] = {}
    tables = 0
    in_table = False
    for line in doc.read_text(encoding="utf-8").splitlines():
        if not line.startswith("|"):
            in_table = False
            continue
        cells = _cells(line)
        if cells[0] == "reason":
            tables += 1
            in_table = True
            continue
        if not in_table or set(cells[0]) <= {"-", " "}:
            continue
        row = _reason_row(cells, http_only=tables > 1)
        if row.reason in found:
            raise AssertionError(f"{row.reason} is documented twice in {doc.name}")
        found[row.reason] = row
    if tables != 2:
        raise AssertionError(f"expected the gRPC and the HTTP reason tables, found {tables}")
    return found
