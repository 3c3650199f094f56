"""A Node.js agent (grpc-js + proto-loader, from package-lock.json) uses the API from protos/."""

from __future__ import annotations

import asyncio
import json
import shutil
from pathlib import Path
from typing import Any

import pytest

from tests.integration.test_email_end_to_end import email_settings
from tests.support.gateway import running_gateway
from tests.support.smtp_peers import SmtpPeer

ROOT = Path(__file__).resolve().parents[2]
CLIENT = ROOT / "tests" / "node" / "client.mjs"

pytestmark = pytest.mark.node


def _node() -> str:
    node = shutil.which("node")
    if node is None or not (ROOT / "node_modules" / "@grpc" / "grpc-js").is_dir():
        pytest.fail(
            "Node.js and the npm packages are required: run `make test`, which installs them"
        )
    return node


async def run_node(*args: str) -> Any:
    process = await asyncio.create_subprocess_exec(
        _node(),
        str(CLIENT),
        *args,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    out, err = await asyncio.wait_for(process.communicate(), 60)
    assert process.returncode == 0, err.decode()
    return json.loads(out)


async def test_node_client_lists_and_executes(tmp_path: Path, smtp_server: SmtpPeer) -> None:
    settings = email_settings(tmp_path, smtp_server.settings())
    async with running_gateway(settings) as gw:
        listed = await run_node(gw.address, "list")
        keys = [c["key"] for c in listed]
        assert keys == sorted(
            ["cal", "contract_intel", "email", "salesforce", "stripe", "voice", "whatsapp"]
        )
        email = next(c for c in listed if c["key"] == "email")
        assert email["operations"] == ["send"]
        assert email["configured"] is True

        payload = {"to": ["node@example.com"], "subject": "From Node", "text": "hi from js"}
        executed = await run_node(
            gw.address, "execute", "email", "send", json.dumps(payload), "node-1"
        )
        assert executed["attempts"] == 1
        assert executed["replayed"] is False
        assert executed["result"]["message_id"].endswith("@example.com>")
        assert smtp_server.messages[-1].message["Subject"] == "From Node"

        refused = await run_node(
            gw.address, "execute", "email", "send", json.dumps({"to": []}), "node-2"
        )
        assert refused["error"]["code"] == "INVALID_ARGUMENT"
