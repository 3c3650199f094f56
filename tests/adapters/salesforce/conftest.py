"""What the tests of the Salesforce adapter against the fake org start from."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from adapters.salesforce.adapter import SalesforceAdapter
from tests.adapters.salesforce.kit import Org, salesforce_org
from tests.support.vendor_adapters import initialized


@pytest.fixture
async def org() -> AsyncIterator[Org]:
    """The fake org, with its recorder in front of its instance host."""
    async with salesforce_org() as running:
        yield running


@pytest.fixture
async def adapter(org: Org) -> AsyncIterator[SalesforceAdapter]:
    """The real adapter, initialized on an account at ``org``."""
    async with initialized(SalesforceAdapter(org.account())) as salesforce:
        yield salesforce
