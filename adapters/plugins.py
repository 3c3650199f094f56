"""Every connector this gateway serves, sorted by key: the one module that imports the vendor
folders. Adding a connector is one folder under ``adapters/`` and one line here."""

from __future__ import annotations

from typing import Any

from adapters import cal, contract_intel, email, salesforce, stripe, voice, whatsapp
from gateway.plugin import ConnectorPlugin

PLUGINS: tuple[ConnectorPlugin[Any], ...] = (
    cal.PLUGIN,
    contract_intel.PLUGIN,
    email.PLUGIN,
    salesforce.PLUGIN,
    stripe.PLUGIN,
    voice.PLUGIN,
    whatsapp.PLUGIN,
)
