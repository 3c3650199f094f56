"""The notes service's sandbox: two routes on the shared HTTP sandbox base."""

from __future__ import annotations

from aiohttp import web
from pydantic import SecretStr

from adapters.http.sandbox import HttpSandbox
from gateway.sandbox import SandboxFault

from .account import ToyAccount


class ToySandbox(HttpSandbox[ToyAccount]):
    key = "toy"

    def __init__(self, fault: SandboxFault | None = None) -> None:
        super().__init__(fault)
        self._added: dict[str, int] = {}  # notes added per tenant: the next note's number

    def add_routes(self, app: web.Application) -> None:
        app.router.add_post("/notes", self.add_note)
        app.router.add_get("/notes/{note_id}", self.get_note)

    def account(self, tenant: str, base_url: str, credential: str) -> ToyAccount:
        return ToyAccount(base_url=base_url, api_key=SecretStr(credential))

    async def add_note(self, request: web.Request) -> web.Response:
        tenant = self.tenant_of(request)
        body = await request.json()
        if not isinstance(body, dict) or not isinstance(body.get("text"), str):
            return self.error(400, "invalid_note", "a note needs its text")
        self._added[tenant] = self._added.get(tenant, 0) + 1
        note = {"id": f"n-{self._added[tenant]}", "text": body["text"]}
        self.objects(tenant, "note")[note["id"]] = note
        self.record(tenant, dict(note))
        return web.json_response({"id": note["id"]}, status=201)

    async def get_note(self, request: web.Request) -> web.Response:
        note = self.objects(self.tenant_of(request), "note").get(request.match_info["note_id"])
        if note is None:
            return self.error(404, "not_found", "no such note")
        return web.json_response(note)
