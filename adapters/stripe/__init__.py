"""The ``stripe`` connector: Stripe Payments (customers, PaymentIntents, refunds, payment
links) over Stripe's form-encoded REST API."""

from gateway.plugin import ConnectorPlugin

from .account import StripeAccount
from .adapter import StripeAdapter
from .metadata import METADATA
from .sandbox import StripeSandbox

PLUGIN = ConnectorPlugin(METADATA, StripeAccount, StripeAdapter, StripeSandbox)

__all__ = ["PLUGIN"]
