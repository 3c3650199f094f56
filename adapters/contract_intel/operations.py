"""Contract Intelligence (DocuSign eSignature v2.1 + Navigator): payload models and metadata.

Envelope fields follow eSignature REST v2.1 (``envelopeDefinition``, ``document``, ``signer``,
``carbonCopy``, ``signHere``, ``templateRole``; camelCase as DocuSign spells them, numeric ids as
strings as DocuSign types them); the adapter adds ``status: "sent"`` and a hidden text custom
field carrying the gateway's marker. ``void_envelope`` is the documented
``PUT …/envelopes/{envelopeId}`` with ``status: "voided"``. Agreement reads follow Navigator's
Agreements API (``GET /v1/accounts/{accountId}/agreements[/{agreementId}]``). The account id
and the OAuth credentials are configuration.
"""

from __future__ import annotations

from typing import Annotated, Literal, Self

from pydantic import BeforeValidator, EmailStr, Field, model_validator

from adapters.shared.payloads import HeaderText, PayloadModel, Uuid, VendorResult, integral

MAX_DOCUMENT_BASE64 = 34_000_000  # about 25 MB of file, DocuSign's per-document ceiling

# DocuSign types document ids, recipient ids and routing orders as strings of digits.
DigitsId = Annotated[str, Field(pattern=r"^[1-9][0-9]{0,8}$", examples=["1"])]
PageLimit = Annotated[int, Field(strict=True, ge=1, le=100), BeforeValidator(integral)]


class EnvelopeDocument(PayloadModel):
    """A document to sign, inline as base64."""

    documentId: DigitsId = Field(description='Document number, referenced by tabs, e.g. "1".')
    name: HeaderText = Field(min_length=1, max_length=255, description="The document's name.")
    fileExtension: str = Field(
        default="pdf",
        pattern=r"^[a-z0-9]{1,10}$",
        description="File type; non-PDF documents (docx, …) are converted to PDF.",
    )
    documentBase64: str = Field(
        min_length=4,
        max_length=MAX_DOCUMENT_BASE64,
        pattern=r"^[A-Za-z0-9+/]+={0,2}$",
        description=(
            "The file's bytes, base64-encoded. DocuSign takes about 25 MB per document, but "
            "the gateway's payload limit (1 MiB by default) applies to the whole request."
        ),
    )


class SignHereTab(PayloadModel):
    """Where a signer signs, placed relative to a text anchor in the documents."""

    anchorString: HeaderText = Field(
        min_length=1,
        max_length=100,
        description="Text in the document to place the signature at, e.g. '/sn1/'.",
    )
    anchorUnits: Literal["pixels", "inches", "mms", "cms"] = Field(
        default="pixels", description="Unit of the offsets."
    )
    anchorXOffset: str = Field(
        default="0", pattern=r"^-?[0-9]{1,5}(\.[0-9]{1,2})?$", description="Offset right."
    )
    anchorYOffset: str = Field(
        default="0", pattern=r"^-?[0-9]{1,5}(\.[0-9]{1,2})?$", description="Offset down."
    )


class SignerTabs(PayloadModel):
    """The signer's tabs."""

    signHereTabs: list[SignHereTab] = Field(
        min_length=1, max_length=50, description="Signature places."
    )


class Signer(PayloadModel):
    """A recipient who must sign."""

    email: EmailStr = Field(description="The signer's email address; the invitation goes here.")
    name: HeaderText = Field(
        min_length=1, max_length=100, description="The signer's full legal name."
    )
    recipientId: DigitsId = Field(description='Unique within the envelope, e.g. "1".')
    routingOrder: DigitsId = Field(
        default="1", description="Signing order; equal numbers sign in parallel."
    )
    tabs: SignerTabs | None = Field(
        default=None, description="Where to sign; omit to let the signer place a signature."
    )


class CarbonCopy(PayloadModel):
    """A recipient who receives a copy and does not sign."""

    email: EmailStr = Field(description="The recipient's email address.")
    name: HeaderText = Field(min_length=1, max_length=100, description="The recipient's full name.")
    recipientId: DigitsId = Field(description='Unique within the envelope, e.g. "2".')
    routingOrder: DigitsId = Field(default="1", description="When the copy is sent.")


class Recipients(PayloadModel):
    """The envelope's recipients."""

    signers: list[Signer] = Field(min_length=1, max_length=50, description="Who signs.")
    carbonCopies: list[CarbonCopy] = Field(
        default_factory=list, max_length=50, description="Who receives a copy."
    )


class TemplateRole(PayloadModel):
    """A person filling one role of a server template."""

    roleName: HeaderText = Field(
        min_length=1, max_length=100, description="The role as named in the template."
    )
    name: HeaderText = Field(
        min_length=1, max_length=100, description="The person's full legal name."
    )
    email: EmailStr = Field(description="The person's email address.")


class SendEnvelope(PayloadModel):
    """Send an envelope for signature, either from a server template (templateId and
    templateRoles) or from inline documents (documents and recipients)."""

    emailSubject: HeaderText = Field(
        min_length=1, max_length=100, description="Subject of the signing invitation."
    )
    emailBlurb: str | None = Field(
        default=None, max_length=10000, description="Body text of the signing invitation."
    )
    templateId: Uuid | None = Field(default=None, description="The server template to use.")
    templateRoles: list[TemplateRole] | None = Field(
        default=None, min_length=1, max_length=50, description="Who fills each template role."
    )
    documents: list[EnvelopeDocument] | None = Field(
        default=None, min_length=1, max_length=20, description="The documents to sign."
    )
    recipients: Recipients | None = Field(
        default=None, description="Signers and copy recipients of the inline documents."
    )

    @model_validator(mode="after")
    def _one_source(self) -> Self:
        from_template = self.templateId is not None or self.templateRoles is not None
        from_documents = self.documents is not None or self.recipients is not None
        if from_template == from_documents:
            raise ValueError(
                "give either templateId and templateRoles, or documents and recipients"
            )
        if from_template and (self.templateId is None or self.templateRoles is None):
            raise ValueError("templateId and templateRoles go together")
        if from_documents and (self.documents is None or self.recipients is None):
            raise ValueError("documents and recipients go together")
        return self


class VoidEnvelope(PayloadModel):
    """Void a sent envelope that is not completed; its recipients can no longer sign."""

    envelopeId: Uuid = Field(description="The envelope's GUID.")
    voidedReason: str = Field(
        min_length=1, max_length=200, description="Why the envelope is voided; shown to recipients."
    )


class GetEnvelope(PayloadModel):
    """Read an envelope's status (sent, delivered, completed, declined, voided)."""

    envelopeId: Uuid = Field(description="The envelope's GUID.")


class GetAgreement(PayloadModel):
    """Read one agreement with its parties and extracted provisions (effective, expiration and
    execution dates, renewal and termination terms)."""

    agreementId: Uuid = Field(description="The agreement's id.")


class ListAgreements(PayloadModel):
    """List agreements, one page at a time."""

    limit: PageLimit | None = Field(
        default=None, description="Agreements per page, 1 to 100 (Navigator default: 25)."
    )
    ctoken: HeaderText | None = Field(
        default=None,
        min_length=1,
        max_length=2000,
        description="Continuation token from the previous page; omit for the first page.",
    )
    title: HeaderText | None = Field(
        default=None, min_length=1, max_length=500, description="Only agreements with this title."
    )
    status: HeaderText | None = Field(
        default=None, min_length=1, max_length=100, description="Only agreements in this status."
    )


class EnvelopeSent(VendorResult):
    """What send_envelope returns: the id void_envelope needs, and the envelope's status."""

    envelope_id: str = Field(
        pattern=r"^[A-Za-z0-9-]{1,64}$",
        description="DocuSign's envelope id (a GUID), as DocuSign answered it.",
    )
