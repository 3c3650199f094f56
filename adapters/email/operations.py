"""The payload of the ``email.send`` operation, validated before any network I/O."""

from __future__ import annotations

import re
from typing import Self

from pydantic import (
    BaseModel,
    ConfigDict,
    EmailStr,
    Field,
    ValidationInfo,
    field_validator,
    model_validator,
)

from gateway.payload_types import HeaderText

MAX_TO = 50
MAX_RECIPIENTS = 100  # to + cc + bcc together
MAX_SUBJECT_CHARS = 998  # RFC 5322 section 2.1.1: the hard limit of a header line

# RFC 5322 msg-id, simplified: "<" id-left "@" id-right ">", no whitespace or brackets inside.
_MESSAGE_ID = re.compile(r"^<[^<>@\s]+@[^<>@\s]+>$")


class SendEmail(BaseModel):
    """Send one email message through the configured SMTP relay."""

    model_config = ConfigDict(extra="forbid", strict=True, frozen=True)

    to: list[EmailStr] = Field(
        min_length=1,
        max_length=MAX_TO,
        description=(f"Primary recipients, 1 to {MAX_TO} email addresses; shown in the To header."),
        examples=[["customer@example.com"]],
    )
    cc: list[EmailStr] = Field(
        default_factory=list,
        max_length=MAX_RECIPIENTS,
        description="Carbon-copy recipients; shown to every recipient in the Cc header.",
    )
    bcc: list[EmailStr] = Field(
        default_factory=list,
        max_length=MAX_RECIPIENTS,
        description=("Blind-copy recipients; they receive the message but appear in no header."),
    )
    subject: HeaderText = Field(
        min_length=1,
        max_length=MAX_SUBJECT_CHARS,
        description=(
            f"Subject line, 1 to {MAX_SUBJECT_CHARS} characters on a single line "
            "(no line breaks, line or paragraph separators, or control characters)."
        ),
        examples=["Your order has shipped"],
    )
    text: str | None = Field(
        default=None,
        min_length=1,
        description="Plain-text body. At least one of text and html is required.",
    )
    html: str | None = Field(
        default=None,
        min_length=1,
        validate_default=True,  # so that the check below also runs when html is left out
        description=(
            "HTML body. At least one of text and html is required; with both, the message "
            "is sent as multipart/alternative and clients choose which to show."
        ),
    )
    reply_to: EmailStr | None = Field(
        default=None,
        description="Address that replies should go to, if not the sender's.",
    )
    in_reply_to: HeaderText | None = Field(
        default=None,
        max_length=MAX_SUBJECT_CHARS,
        description=(
            "Message-ID of the message this one answers, like <id@example.com>; sets the "
            "In-Reply-To and References headers so the reply joins the thread."
        ),
        examples=["<CAF3x9aB7@mail.example.com>"],
    )

    @field_validator("in_reply_to")
    @classmethod
    def _message_id(cls, value: str | None) -> str | None:
        if value is not None and not _MESSAGE_ID.match(value):
            raise ValueError("must be a Message-ID of the form <id@domain>")
        return value

    @field_validator("html")
    @classmethod
    def _some_body(cls, value: str | None, info: ValidationInfo) -> str | None:
        # "text" is absent from info.data when it failed its own validation: no second error.
        if value is None and "text" in info.data and info.data["text"] is None:
            raise ValueError("at least one of text and html is required")
        return value

    @model_validator(mode="after")
    def _recipient_total(self) -> Self:
        total = len(self.to) + len(self.cc) + len(self.bcc)
        if total > MAX_RECIPIENTS:
            raise ValueError(
                f"at most {MAX_RECIPIENTS} recipients in to, cc and bcc together; got {total}"
            )
        return self

    def envelope_recipients(self) -> list[str]:
        """Every address the relay must deliver to (to, cc, bcc), each once, in order."""
        seen: set[str] = set()
        recipients: list[str] = []
        for address in (*self.to, *self.cc, *self.bcc):
            key = address.lower()
            if key not in seen:
                seen.add(key)
                recipients.append(address)
        return recipients
