"""What an adapter opens once: opened on first use or at start, refused once shut down until
started again, refused while not configured; and its secret, read with the adapter's words."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from adapters.shared.lifecycle import Lifecycle, load_optional_secret, load_secret
from gateway.credentials import read_secret
from gateway.errors import NotConfigured, ShuttingDown


class Vendor:
    """Hands out numbered sessions and records which were closed."""

    def __init__(self) -> None:
        self.opened = 0
        self.closed: list[str] = []
        self.configured = True
        self.release = asyncio.Event()
        self.release.set()

    async def open(self) -> str:
        self.opened += 1
        number = self.opened
        await self.release.wait()
        return f"session-{number}"

    async def close(self, session: str) -> None:
        self.closed.append(session)

    def lifecycle(self) -> Lifecycle[str]:
        return Lifecycle(
            "cal",
            self.open,
            self.close,
            configured=lambda: self.configured,
            needs="api_key or api_key_file",
        )


async def test_the_first_calls_open_it_once_and_initialize_keeps_it() -> None:
    vendor = Vendor()
    vendor.release.clear()
    held = vendor.lifecycle()
    calls = [asyncio.create_task(held.get()) for _ in range(10)]
    await asyncio.sleep(0)
    vendor.release.set()
    assert set(await asyncio.gather(*calls)) == {"session-1"}
    await held.initialize()
    assert await held.get() == "session-1"
    assert vendor.opened == 1


async def test_after_shutdown_calls_are_refused_until_initialize_opens_anew() -> None:
    vendor = Vendor()
    held = vendor.lifecycle()
    await held.initialize()
    assert vendor.opened == 1
    await held.shutdown()
    assert vendor.closed == ["session-1"]
    with pytest.raises(ShuttingDown, match=r"^the cal connector is shutting down$"):
        await held.get()
    assert vendor.opened == 1  # a call never reopens what a shutdown closed
    await held.initialize()
    assert await held.get() == "session-2"
    await held.shutdown()
    await held.shutdown()  # twice: nothing more to close
    assert vendor.closed == ["session-1", "session-2"]


async def test_a_shutdown_never_leaves_open_what_an_initialize_was_opening() -> None:
    vendor = Vendor()
    vendor.release.clear()
    held = vendor.lifecycle()
    starting = asyncio.create_task(held.initialize())
    await asyncio.sleep(0)
    stopping = asyncio.create_task(held.shutdown())
    await asyncio.sleep(0)
    with pytest.raises(ShuttingDown):  # refused at once, not after the open
        await held.get()
    vendor.release.set()
    await asyncio.gather(starting, stopping)
    assert vendor.closed == ["session-1"]
    with pytest.raises(ShuttingDown):
        await held.get()


async def test_an_unconfigured_account_opens_nothing_and_says_what_it_needs() -> None:
    vendor = Vendor()
    vendor.configured = False
    held = vendor.lifecycle()
    await held.initialize()  # the gateway starts every adapter, configured or not
    with pytest.raises(NotConfigured) as caught:
        await held.get()
    assert caught.value.message == "cal: api_key or api_key_file must be configured"
    assert caught.value.reason == "CONNECTOR_NOT_CONFIGURED"
    await held.shutdown()
    assert (vendor.opened, vendor.closed) == (0, [])


async def test_the_shutting_down_message_can_be_the_adapters_own() -> None:
    vendor = Vendor()
    held = Lifecycle("salesforce", vendor.open, vendor.close, shutting_down="nothing was sent")
    await held.shutdown()
    with pytest.raises(ShuttingDown, match=r"^nothing was sent$"):
        await held.get()


async def test_a_failed_open_leaves_nothing_and_the_next_call_tries_again(
    tmp_path: Path,
) -> None:
    key_file = tmp_path / "cal.key"

    async def open_with_key() -> str:
        return await load_secret(
            lambda: read_secret(None, key_file),
            unreadable="cal: cannot read api_key_file",
            empty="cal: the API key is empty",
        )

    held = Lifecycle("cal", open_with_key, Vendor().close)
    with pytest.raises(NotConfigured, match="cannot read api_key_file"):
        await held.initialize()
    key_file.write_text("cal_live_1\n", encoding="utf-8")
    assert await held.get() == "cal_live_1"


async def test_an_unreadable_secret_file_names_the_setting_and_the_reason(
    tmp_path: Path,
) -> None:
    with pytest.raises(NotConfigured) as caught:
        await load_secret(
            lambda: read_secret(None, tmp_path / "absent.key"),
            unreadable="salesforce: cannot read private_key_file",
            empty="salesforce: the private key is empty",
            metadata={"connector_key": "salesforce"},
        )
    assert caught.value.message == (
        "salesforce: cannot read private_key_file: No such file or directory"
    )
    assert caught.value.metadata == {"connector_key": "salesforce"}
    assert "absent.key" not in caught.value.message


async def test_an_empty_secret_is_refused_unless_it_is_optional(tmp_path: Path) -> None:
    blank = tmp_path / "blank"
    blank.write_text("\n", encoding="utf-8")
    with pytest.raises(NotConfigured, match=r"^whatsapp: the access token is empty$"):
        await load_secret(
            lambda: read_secret(None, blank),
            unreadable="whatsapp: cannot read access_token_file",
            empty="whatsapp: the access token is empty",
        )
    optional = await load_optional_secret(
        lambda: read_secret(None, None), unreadable="email: cannot read password_file"
    )
    assert optional is None
