"""WhatsApp Business (Meta Cloud API): payload and result models.

Fields follow ``POST /{Version}/{Phone-Number-ID}/messages`` of Meta's Business Messaging API
v23.0 (``TextMessage`` and ``TemplateMessage``). The adapter adds ``messaging_product``,
``recipient_type`` and ``type``; the phone-number id and the token are configuration.
"""

from __future__ import annotations

from typing import Annotated, Literal, Self

from pydantic import BeforeValidator, Field, StrictBool, model_validator

from adapters.shared.payloads import (
    E164Phone,
    HeaderText,
    HttpsUrl,
    PayloadModel,
    VendorResult,
    integral,
)

MAX_TEXT_BODY = 4096  # Cloud API limit of a text message body
MAX_TEMPLATE_PARAMETER = 32768  # spec: TextParameter.text maxLength

# CurrencyObject.amount_1000 is an int32 in the spec.
Amount1000 = Annotated[
    int, Field(strict=True, ge=-(2**31), le=2**31 - 1), BeforeValidator(integral)
]


class MessageContext(PayloadModel):
    """Makes the message a reply to an earlier message in the same chat."""

    message_id: HeaderText = Field(
        min_length=1,
        max_length=256,
        description="The WhatsApp message id (wamid.…) of the message being answered.",
        examples=["wamid.gBGGSFcCNEOPAgkO_KJ55r4w_ww"],
    )


class TextBody(PayloadModel):
    """The text of a plain message."""

    body: str = Field(
        min_length=1,
        max_length=MAX_TEXT_BODY,
        description=f"The message text, 1 to {MAX_TEXT_BODY} characters; may contain URLs.",
    )
    preview_url: StrictBool = Field(
        default=False,
        description="Render a link preview for the first URL in the body.",
    )


class SendText(PayloadModel):
    """Send a free-form text message. WhatsApp delivers it only inside the 24-hour customer
    service window opened by the recipient's last message; outside it, use send_template."""

    to: E164Phone = Field(description="The recipient's phone number in E.164 form.")
    text: TextBody = Field(description="The message text.")
    context: MessageContext | None = Field(
        default=None, description="Set to reply to a specific earlier message."
    )


class Language(PayloadModel):
    """The language of the approved template to send."""

    code: str = Field(
        pattern=r"^[a-z]{2,3}(_[A-Z]{2})?$",
        description='Language or locale code the template was approved in, e.g. "en_US", "ar".',
        examples=["en_US", "ar"],
    )
    policy: Literal["deterministic"] = Field(
        default="deterministic", description="Language policy; Cloud API supports only this one."
    )


class TextParameter(PayloadModel):
    """A text value for a {{n}} placeholder."""

    type: Literal["text"] = Field(description="Parameter type.")
    text: HeaderText = Field(
        min_length=1,
        max_length=MAX_TEMPLATE_PARAMETER,
        description="The text, on one line (WhatsApp refuses line breaks and tabs here).",
    )


class CurrencyValue(PayloadModel):
    """An amount of money, localized by WhatsApp."""

    fallback_value: HeaderText = Field(
        min_length=1, max_length=256, description="Text shown if localization fails."
    )
    code: str = Field(pattern=r"^[A-Z]{3}$", description="ISO 4217 currency code, e.g. USD.")
    amount_1000: Amount1000 = Field(
        description="The amount multiplied by 1000 (100990 for 100.99), an integer.",
        examples=[100990],
    )


class CurrencyParameter(PayloadModel):
    """A currency value for a {{n}} placeholder."""

    type: Literal["currency"] = Field(description="Parameter type.")
    currency: CurrencyValue = Field(description="The amount.")


class DateTimeValue(PayloadModel):
    """A date or time; Cloud API always shows the fallback text."""

    fallback_value: HeaderText = Field(
        min_length=1, max_length=256, description="The date or time as it should read."
    )


class DateTimeParameter(PayloadModel):
    """A date-time value for a {{n}} placeholder."""

    type: Literal["date_time"] = Field(description="Parameter type.")
    date_time: DateTimeValue = Field(description="The date or time.")


class MediaRef(PayloadModel):
    """A media file, by uploaded media id or by public HTTPS link (exactly one)."""

    id: HeaderText | None = Field(
        default=None, min_length=1, max_length=256, description="Media id from an upload."
    )
    link: HttpsUrl | None = Field(default=None, description="Public HTTPS URL of the file.")

    @model_validator(mode="after")
    def _exactly_one(self) -> Self:
        if (self.id is None) == (self.link is None):
            raise ValueError("exactly one of id and link is required")
        return self


class ImageParameter(PayloadModel):
    """An image for a media header."""

    type: Literal["image"] = Field(description="Parameter type.")
    image: MediaRef = Field(description="The image (JPEG or PNG).")


class DocumentParameter(PayloadModel):
    """A document for a media header; templates accept PDF only."""

    type: Literal["document"] = Field(description="Parameter type.")
    document: MediaRef = Field(description="The PDF document.")


BodyParameter = Annotated[
    TextParameter | CurrencyParameter | DateTimeParameter, Field(discriminator="type")
]
HeaderParameter = Annotated[
    TextParameter | ImageParameter | DocumentParameter, Field(discriminator="type")
]


class HeaderComponent(PayloadModel):
    """Values for the template's header."""

    type: Literal["header"] = Field(description="Component type.")
    parameters: list[HeaderParameter] = Field(
        min_length=1, max_length=1, description="The header's one parameter."
    )


class BodyComponent(PayloadModel):
    """Values for the template body's {{1}}, {{2}}, … placeholders, in order."""

    type: Literal["body"] = Field(description="Component type.")
    parameters: list[BodyParameter] = Field(
        min_length=1, max_length=100, description="One parameter per placeholder, in order."
    )


class ButtonPayloadParameter(PayloadModel):
    """The payload returned to the business when a quick-reply button is tapped."""

    type: Literal["payload"] = Field(description="Parameter type.")
    payload: HeaderText = Field(
        min_length=1, max_length=1000, description="Developer-defined payload."
    )


class ButtonTextParameter(PayloadModel):
    """The suffix appended to a dynamic URL button's base URL."""

    type: Literal["text"] = Field(description="Parameter type.")
    text: HeaderText = Field(min_length=1, max_length=2000, description="URL suffix.")


ButtonParameter = Annotated[
    ButtonPayloadParameter | ButtonTextParameter, Field(discriminator="type")
]


class ButtonComponent(PayloadModel):
    """Values for one of the template's buttons."""

    type: Literal["button"] = Field(description="Component type.")
    sub_type: Literal["quick_reply", "url"] = Field(description="The button's kind.")
    index: str = Field(
        pattern=r"^[0-9]$", description='Position of the button, "0" to "9".', examples=["0"]
    )
    parameters: list[ButtonParameter] = Field(
        min_length=1,
        max_length=1,
        description="payload for quick_reply buttons, text for url buttons.",
    )


TemplateComponent = Annotated[
    HeaderComponent | BodyComponent | ButtonComponent, Field(discriminator="type")
]


class Template(PayloadModel):
    """An approved message template and the values for its placeholders."""

    name: str = Field(
        pattern=r"^[a-z0-9_]{1,512}$",
        description="The template's name as approved in WhatsApp Manager.",
        examples=["order_confirmation"],
    )
    language: Language = Field(description="The template language to send.")
    components: list[TemplateComponent] = Field(
        default_factory=list,
        max_length=12,
        description="Parameter values by component; omit for templates without placeholders.",
    )


class SendTemplate(PayloadModel):
    """Send an approved template message; the only way to open a conversation or to write
    outside the 24-hour customer service window."""

    to: E164Phone = Field(description="The recipient's phone number in E.164 form.")
    template: Template = Field(description="The template and its parameter values.")


class MessageSent(VendorResult):
    """What a send returns: the id WhatsApp gave the message."""

    message_id: str = Field(
        min_length=1,
        max_length=512,
        description="The message's WhatsApp id (wamid.…), which delivery webhooks name.",
    )
    wa_id: str | None = Field(default=None, description="The recipient's WhatsApp id.")
    message_status: str | None = Field(
        default=None, description="Whether WhatsApp accepted the message (accepted, paused…)."
    )
