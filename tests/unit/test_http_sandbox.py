"""The base of HTTP vendor sandboxes, through the toy notes service's sandbox: each
tenant's credential opens its own data only, an unknown one acts on nothing, and a configured
fault fails the requests it covers, as many times as it says."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import aiohttp
import pytest
from aiohttp import web

from adapters.http import sandbox as http_sandbox
from adapters.http.sandbox import HttpSandbox, path_under
from gateway.sandbox import SandboxFault
from tests.toy_connector.account import ToyAccount
from tests.toy_connector.sandbox import ToySandbox

pytestmark = pytest.mark.timeout(10)


@pytest.fixture
async def client() -> AsyncIterator[aiohttp.ClientSession]:
    async with aiohttp.ClientSession() as session:
        yield session


async def started(fault: SandboxFault | None = None) -> ToySandbox:
    sandbox = ToySandbox(fault)
    await sandbox.start()
    return sandbox


def bearer(account: ToyAccount) -> dict[str, str]:
    return {"Authorization": f"Bearer {account.api_key.get_secret_value()}"}


async def add(
    client: aiohttp.ClientSession, account: ToyAccount, text: str
) -> tuple[int, dict[str, Any]]:
    async with client.post(
        f"{account.base_url}/notes", json={"text": text}, headers=bearer(account)
    ) as got:
        return got.status, await got.json()


async def get(
    client: aiohttp.ClientSession, account: ToyAccount, note_id: str
) -> tuple[int, dict[str, Any]]:
    async with client.get(f"{account.base_url}/notes/{note_id}", headers=bearer(account)) as got:
        return got.status, await got.json()


async def test_each_tenant_acts_on_its_own_data_only(client: aiohttp.ClientSession) -> None:
    sandbox = await started()
    try:
        acme, globex = sandbox.account_for("acme"), sandbox.account_for("globex")
        assert acme.base_url == globex.base_url == sandbox.base_url
        assert acme.base_url.startswith("http://127.0.0.1:")
        assert acme.api_key != globex.api_key
        assert sandbox.account_for("acme") == acme

        assert await add(client, acme, "buy milk") == (201, {"id": "n-1"})
        assert await get(client, acme, "n-1") == (200, {"id": "n-1", "text": "buy milk"})
        status, body = await get(client, globex, "n-1")  # acme's note is not globex's
        assert (status, body["error"]["code"]) == (404, "not_found")
        assert sandbox.received("acme") == [{"id": "n-1", "text": "buy milk"}]
        assert sandbox.received("globex") == []
    finally:
        await sandbox.stop()


async def test_only_the_newest_objects_of_a_kind_are_kept(
    client: aiohttp.ClientSession, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(http_sandbox, "MAX_OBJECTS", 2)
    sandbox = await started()
    try:
        acme, globex = sandbox.account_for("acme"), sandbox.account_for("globex")
        ids = [(await add(client, acme, text))[1]["id"] for text in ("one", "two", "three")]
        theirs = (await add(client, globex, "theirs"))[1]["id"]
        assert [(await get(client, acme, note_id))[0] for note_id in ids] == [404, 200, 200]
        assert await get(client, acme, ids[2]) == (200, {"id": ids[2], "text": "three"})
        assert (await get(client, globex, theirs))[0] == 200  # a count per tenant
    finally:
        await sandbox.stop()


async def test_an_unknown_credential_is_refused_and_acts_on_nothing(
    client: aiohttp.ClientSession,
) -> None:
    sandbox = await started()
    try:
        acme = sandbox.account_for("acme")
        for headers in ({}, {"Authorization": "Bearer guessed"}, {"Authorization": "Basic x"}):
            async with client.post(
                f"{sandbox.base_url}/notes", json={"text": "x"}, headers=headers
            ) as got:
                assert got.status == 401
                assert (await got.json())["error"]["code"] == "unauthorized"
        assert sandbox.received("acme") == []
        assert await add(client, acme, "mine") == (201, {"id": "n-1"})
    finally:
        await sandbox.stop()


async def test_a_status_fault_answers_the_requests_it_covers_as_many_times_as_it_says(
    client: aiohttp.ClientSession,
) -> None:
    sandbox = await started(SandboxFault(status=503, at="POST /notes", times=2))
    try:
        acme = sandbox.account_for("acme")
        assert (await get(client, acme, "n-1"))[0] == 404  # a GET is not covered
        for _ in range(2):
            status, body = await add(client, acme, "later")
            assert (status, body["error"]["code"]) == (503, "sandbox_fault")
        assert sandbox.received("acme") == []  # nothing was acted on
        assert await add(client, acme, "now") == (201, {"id": "n-1"})
    finally:
        await sandbox.stop()


async def test_a_429_fault_says_when_to_come_back(client: aiohttp.ClientSession) -> None:
    sandbox = await started(SandboxFault(status=429))
    try:
        acme = sandbox.account_for("acme")
        async with client.get(f"{acme.base_url}/notes/n-1", headers=bearer(acme)) as got:
            assert (got.status, got.headers["Retry-After"]) == (429, "1")
    finally:
        await sandbox.stop()


async def test_a_drop_acts_then_resets_the_connection(client: aiohttp.ClientSession) -> None:
    sandbox = await started(SandboxFault(drop=True, at="/notes", times=1))
    try:
        acme = sandbox.account_for("acme")
        with pytest.raises(aiohttp.ClientError):
            await add(client, acme, "answer lost")
        assert sandbox.received("acme") == [{"id": "n-1", "text": "answer lost"}]
        assert await get(client, acme, "n-1") == (200, {"id": "n-1", "text": "answer lost"})
    finally:
        await sandbox.stop()


@pytest.mark.parametrize("at", ["notes", "FETCH /notes", "POST notes"])
def test_a_fault_at_a_place_that_is_no_request_is_refused_naming_the_setting(at: str) -> None:
    with pytest.raises(ValueError, match=r"sandbox\.fail\.toy\.at must be a path prefix"):
        ToySandbox(SandboxFault(status=500, at=at))


class TokenSandbox(HttpSandbox[ToyAccount]):
    """A vendor whose clients trade their key for an access token at an open path."""

    key = "tokens"
    open_paths = frozenset({"/token"})

    def add_routes(self, app: web.Application) -> None:
        app.router.add_post("/token", self.token)
        app.router.add_get("/whoami", self.whoami)

    def account(self, tenant: str, base_url: str, credential: str) -> ToyAccount:
        return ToyAccount.model_validate({"base_url": base_url, "api_key": credential})

    async def token(self, request: web.Request) -> web.Response:
        tenant = self.tenant_of(request) or (await request.post()).get("tenant", "")
        return web.json_response({"access_token": self.issue(str(tenant))})

    async def whoami(self, request: web.Request) -> web.Response:
        return web.json_response({"tenant": self.tenant_of(request)})


async def test_an_open_path_hands_out_credentials_of_a_tenant(
    client: aiohttp.ClientSession,
) -> None:
    sandbox = TokenSandbox()
    await sandbox.start()
    try:
        async with client.post(f"{sandbox.base_url}/token", data={"tenant": "acme"}) as got:
            token = (await got.json())["access_token"]
        async with client.get(
            f"{sandbox.base_url}/whoami", headers={"Authorization": f"Bearer {token}"}
        ) as got:
            assert await got.json() == {"tenant": "acme"}
        async with client.get(f"{sandbox.base_url}/whoami") as got:
            assert got.status == 401
    finally:
        await sandbox.stop()


@pytest.mark.parametrize(
    ("prefix", "path", "covered"),
    [
        ("/v1/accounts/*/calls", "/v1/accounts/AC123/calls.json", True),
        ("/v1/accounts/*/calls", "/v1/accounts/AC123/messages.json", False),
        ("/v1/accounts/*/calls", "/v1/accounts//calls", False),
        ("/v1/accounts/*/calls", "/v1/accounts/AC123", False),
        ("/v1/accounts/*", "/v1/accounts/AC123/anything", True),
        ("/v1/acc", "/v1/accounts/AC123", True),
        ("/v2", "/v1/accounts", False),
    ],
)
def test_a_star_in_a_fault_place_stands_for_one_segment(
    prefix: str, path: str, covered: bool
) -> None:
    assert path_under(path, prefix) is covered
