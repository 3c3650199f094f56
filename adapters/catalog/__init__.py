"""The contracts of the connectors whose vendor adapters are not built yet.

Each module holds one vendor's payload models (based on the vendor's published API
description) and its ``METADATA``. Until a real adapter exists, a connector is served by
:class:`~adapters.catalog.unconfigured.UnconfiguredAdapter`, which reports ``not_configured``
and refuses every call.
"""

from __future__ import annotations

from adapters.catalog import cal, contract_intel, salesforce, stripe, voice, whatsapp
from adapters.catalog.unconfigured import UnconfiguredAdapter
from gateway.contract import ConnectorMetadata

CATALOG: tuple[ConnectorMetadata, ...] = tuple(
    sorted(
        (
            cal.METADATA,
            contract_intel.METADATA,
            salesforce.METADATA,
            stripe.METADATA,
            voice.METADATA,
            whatsapp.METADATA,
        ),
        key=lambda meta: meta.key,
    )
)

__all__ = ["CATALOG", "UnconfiguredAdapter"]
