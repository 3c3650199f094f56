"""Redaction of an error's metadata: the gateway's own keys are kept, everything else is
redacted like a payload of the connector's classification, and redacting twice changes
nothing."""

from __future__ import annotations

import pytest

from gateway.contract import DataClassification
from gateway.errors import VendorRejected
from gateway.redaction import redact_error, redact_metadata

ADDRESS = "jane.roe@example.org"
LONG = "x" * 65

METADATA = {
    "phase": "rcpt",
    "attempts": "1",
    "connector_key": "email",
    "vendor_code": "550",
    "vendor_status": "400",
    "vendor_message": f"5.1.1 <{ADDRESS}> unknown",
    "refused": f"{ADDRESS}=550",
}
OWN = {
    k: METADATA[k] for k in ("phase", "attempts", "connector_key", "vendor_code", "vendor_status")
}


@pytest.mark.parametrize(
    ("classification", "vendor_message", "refused"),
    [
        (DataClassification.PUBLIC, METADATA["vendor_message"], METADATA["refused"]),
        (DataClassification.INTERNAL, METADATA["vendor_message"], METADATA["refused"]),
        (DataClassification.CONFIDENTIAL, "<string:36>", "<string:24>"),
        (DataClassification.RESTRICTED, "<redacted>", "<redacted>"),
    ],
)
def test_vendor_text_follows_the_classification(
    classification: DataClassification, vendor_message: str, refused: str
) -> None:
    redacted = redact_metadata(METADATA, classification)
    assert redacted == {**OWN, "vendor_message": vendor_message, "refused": refused}
    assert redact_metadata(redacted, classification) == redacted  # idempotent


def test_internal_keeps_short_text_only() -> None:
    redacted = redact_metadata({"vendor_message": LONG}, DataClassification.INTERNAL)
    assert redacted == {"vendor_message": "<string:65>"}


def test_a_vendor_code_that_is_text_is_redacted() -> None:
    redacted = redact_metadata(
        {"vendor_code": f"no user {ADDRESS}", "vendor_status": "503"},
        DataClassification.CONFIDENTIAL,
    )
    assert redacted == {"vendor_code": f"<string:{len(ADDRESS) + 8}>", "vendor_status": "503"}


def test_redact_error_changes_the_error_in_place() -> None:
    error = VendorRejected("refused", metadata=METADATA)
    assert redact_error(error, DataClassification.CONFIDENTIAL) is error
    assert ADDRESS not in str(error.metadata)
    assert error.message == "refused"
