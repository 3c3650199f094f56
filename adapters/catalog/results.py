"""What the catalog's undoable operations return: the vendor ids their compensation needs.

An operator who resolves an unknown outcome of one of these operations as succeeded supplies
this result (read at the vendor); ``Compensate`` refuses an execution whose result lacks it.
Other fields the vendor returns are kept.
"""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field


class VendorResult(BaseModel):
    model_config = ConfigDict(extra="allow", frozen=True)


class BookingCreated(VendorResult):
    uid: str = Field(min_length=1, max_length=200, description="Cal.com booking uid.")


class EnvelopeSent(VendorResult):
    envelope_id: str = Field(min_length=1, max_length=200, description="DocuSign envelope id.")


class PaymentIntentCreated(VendorResult):
    id: str = Field(pattern=r"^pi_[A-Za-z0-9]{1,200}$", description="Stripe PaymentIntent id.")


class CallPlaced(VendorResult):
    sid: str = Field(pattern=r"^CA[0-9a-f]{32}$", description="Twilio Call SID.")
