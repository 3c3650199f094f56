"""One valid payload for every operation of every connector, as an agent would send it."""

from __future__ import annotations

from typing import Any

from tests.adapters.cal.examples import VALID as CAL
from tests.adapters.contract_intel.test_operations import VALID as CONTRACT_INTEL
from tests.adapters.salesforce.test_operations import VALID as SALESFORCE
from tests.adapters.stripe.examples import VALID as STRIPE
from tests.adapters.voice.test_operations import VALID as VOICE
from tests.adapters.whatsapp.test_operations import VALID as WHATSAPP

EMAIL = {
    "send": {"to": ["ops@example.com"], "subject": "Quarterly report", "text": "Attached."},
}

VALID: dict[tuple[str, str], dict[str, Any]] = {
    (key, operation): payload
    for key, examples in (
        ("cal", CAL),
        ("contract_intel", CONTRACT_INTEL),
        ("email", EMAIL),
        ("salesforce", SALESFORCE),
        ("stripe", STRIPE),
        ("voice", VOICE),
        ("whatsapp", WHATSAPP),
    )
    for operation, payload in examples.items()
}
