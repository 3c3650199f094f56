"""Building blocks shared by the vendors' payload and result models.

Two pydantic pitfalls shape this module:

* Payloads arrive as ``google.protobuf.Struct``, where every number is a double. Integer fields
  therefore accept integral floats (``2000.0``) and refuse fractions, strings and booleans; see
  :func:`gateway.payload_types.integral`. Each integer field has its own ``Annotated`` alias
  with its bounds inline, so the bounds show in the JSON schema agents read.
* Pattern constraints run on the Rust regex engine, where ``\\d`` also matches non-ASCII digits
  (Arabic-Indic and others); every pattern here spells digits as ``[0-9]``.
"""

from __future__ import annotations

import datetime
from typing import Annotated

from pydantic import AfterValidator, BaseModel, ConfigDict, Field

from gateway.payload_types import MAX_SAFE_INTEGER, HeaderText, integral

__all__ = ["MAX_SAFE_INTEGER", "HeaderText", "integral"]


class PayloadModel(BaseModel):
    """Base of every vendor payload model: unknown fields are refused, values are immutable.

    Each model's validator is built when first used, not when its module is imported: seven
    connectors' models built at import were a fifth of the gateway's start."""

    model_config = ConfigDict(extra="forbid", strict=True, frozen=True, defer_build=True)


class VendorResult(BaseModel):
    """Base of what an undoable operation returns: the vendor ids its compensation needs.

    An operator who resolves an unknown outcome of such an operation as succeeded supplies
    this result (read at the vendor); ``Compensate`` refuses an execution whose result lacks
    it. Other fields the vendor returns are kept.
    """

    model_config = ConfigDict(extra="allow", frozen=True, defer_build=True)


def _iso_date(value: str) -> str:
    datetime.date.fromisoformat(value)  # refuses impossible dates such as 2025-02-30
    return value


def _iso_datetime(value: str) -> str:
    datetime.datetime.fromisoformat(value.replace("Z", "+00:00"))
    return value


# E.164: "+", a country code that does not start with 0, at most 15 digits in all.
E164_PATTERN = r"^\+[1-9][0-9]{1,14}$"
E164Phone = Annotated[str, Field(pattern=E164_PATTERN, examples=["+14155550123"])]

IsoDate = Annotated[
    str,
    Field(pattern=r"^[0-9]{4}-[0-9]{2}-[0-9]{2}$", examples=["2025-12-31"]),
    AfterValidator(_iso_date),
]

# A UTC instant, seconds required, milliseconds optional, always with the "Z" suffix.
UtcDateTime = Annotated[
    str,
    Field(
        pattern=r"^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}(\.[0-9]{1,3})?Z$",
        examples=["2025-09-05T09:00:00Z"],
    ),
    AfterValidator(_iso_datetime),
]

# A day (start of day / end of day) or a UTC instant.
UtcDateOrDateTime = Annotated[
    str,
    Field(
        pattern=(
            r"^[0-9]{4}-[0-9]{2}-[0-9]{2}"
            r"(T[0-9]{2}:[0-9]{2}:[0-9]{2}(\.[0-9]{1,3})?Z)?$"
        ),
        examples=["2025-09-05", "2025-09-05T09:00:00Z"],
    ),
    AfterValidator(_iso_datetime),
]

# An absolute HTTPS URL without whitespace or control characters.
HttpsUrl = Annotated[
    str,
    Field(
        pattern=r"^https://[^\s\x00-\x1f\x7f/?#]+[^\s\x00-\x1f\x7f]*$",
        max_length=2048,
        examples=["https://example.com/x"],
    ),
]

Uuid = Annotated[
    str,
    Field(
        pattern=r"^[0-9a-fA-F]{8}-([0-9a-fA-F]{4}-){3}[0-9a-fA-F]{12}$",
        examples=["4b728be4-1c2d-4e5f-8a9b-d63e23f822b6"],
    ),
]

# Key-value metadata with the limits Stripe and Cal.com share: at most 50 keys, keys up to 40
# characters, string values up to 500 characters.
MetadataKey = Annotated[HeaderText, Field(min_length=1, max_length=40)]
MetadataValue = Annotated[str, Field(max_length=500)]
Metadata = Annotated[dict[MetadataKey, MetadataValue], Field(max_length=50)]
