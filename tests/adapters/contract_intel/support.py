"""What the ``contract_intel`` adapter tests share: the fake account's settings and an
attempt's context."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from adapters.contract_intel.account import ContractIntelAccount
from gateway.contract import AttemptContext
from tests.support.vendor_adapters import attempt

from .fakes import INTEGRATION_KEY, USER_ID, AccountServer, ESignature, SigningKey

MARKER = "ab" * 32


@dataclass
class DocuSign:
    auth: AccountServer
    esign: ESignature
    key: SigningKey

    def account(self, **settings: Any) -> ContractIntelAccount:
        values: dict[str, Any] = {
            "integration_key": INTEGRATION_KEY,
            "user_id": USER_ID,
            "private_key": self.key.pem,
            "auth_server": self.auth.url,
            "navigator_url": "http://127.0.0.1:9",
        }
        values.update(settings)
        return ContractIntelAccount(**values)


def ctx(marker: str = MARKER, timeout_s: float = 10.0) -> AttemptContext:
    return attempt(marker=marker, timeout_s=timeout_s)
