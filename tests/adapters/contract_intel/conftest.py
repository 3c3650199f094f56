"""A DocuSign account on loopback (account server and eSignature) and adapters signed in
to it."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from typing import Any

import pytest

from adapters.contract_intel.adapter import ContractIntelAdapter

from .fakes import AccountServer, ESignature, SigningKey, signing_key
from .support import DocuSign

Build = Callable[..., ContractIntelAdapter]


@pytest.fixture(scope="session")
def key() -> SigningKey:
    return signing_key()


@pytest.fixture
async def docusign(key: SigningKey) -> AsyncIterator[DocuSign]:
    auth = AccountServer(key.public)
    esign = ESignature(auth)
    async with auth.running(), esign.running():
        auth.base_uri = esign.url
        yield DocuSign(auth, esign, key)


@pytest.fixture
async def adapter_for(docusign: DocuSign) -> AsyncIterator[Build]:
    """Builds adapters on the fake account; shuts each down at the end."""
    built: list[ContractIntelAdapter] = []

    def build(clock: Callable[[], float] | None = None, **settings: Any) -> ContractIntelAdapter:
        account = docusign.account(**settings)
        adapter = (
            ContractIntelAdapter(account)
            if clock is None
            else ContractIntelAdapter(account, clock=clock)
        )
        built.append(adapter)
        return adapter

    try:
        yield build
    finally:
        for adapter in built:
            await adapter.shutdown()
