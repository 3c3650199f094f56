"""The README's commands, read from README.md and run through the real CLI in its own process
against a real gateway in development mode: on embedded defaults, where the email connector
runs against its sandbox, and with an account at a real SMTP server.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

from adapters.plugins import PLUGINS
from gateway.settings import Settings
from tests.support.cli import run_cli, run_cli_at
from tests.support.gateway import RunningGateway, gateway_settings, running_gateway
from tests.support.readme import readme_steps, readme_toml, substituted
from tests.support.smtp_peers import scripted_smtp_server

APPROVAL_ID = re.compile(r"apr_[0-9a-f]{24}")
EXECUTION_ID = re.compile(r"^[0-9a-f]{32}$")
CONNECTOR_KEYS = {"cal", "contract_intel", "email", "salesforce", "stripe", "voice", "whatsapp"}
# Without an account, a connector with a sandbox runs against it; one without is not configured.
SANDBOXED = {plugin.key for plugin in PLUGINS if plugin.sandbox is not None}


def rows_of(table: str) -> list[list[str]]:
    """The rows of a table the CLI printed, below its header and rule, split on 2+ spaces."""
    lines = table.splitlines()
    assert lines[1].startswith("---"), table
    return [re.split(r"\s{2,}", line.strip()) for line in lines[2:] if line.strip()]


def row_for(table: str, first_cell: str) -> list[str]:
    [row] = [r for r in rows_of(table) if r[0] == first_cell]
    return row


def events(gw: RunningGateway) -> list[tuple[str, str]]:
    return [(str(r["event_type"]), str(r["caller"])) for r in gw.audit_rows()]


async def test_the_readme_approval_walkthrough_sends_the_message_once(tmp_path: Path) -> None:
    settings = gateway_settings(tmp_path)  # embedded defaults: no vendor account at all
    read, ask, listing, approve, send, show = readme_steps("approvals approve")
    payload = ask.command[ask.command.index("--payload") + 1]

    async with running_gateway(settings) as gw:
        # 0. A read runs at once, at the connector's sandbox.
        slots = await run_cli_at(gw, *read.command)
        assert slots.returncode == 0, slots.stderr
        read.assert_printed(slots.stdout)
        free = json.loads(slots.stdout)["result"]["slots"]
        # 2030-01-07 is a Monday: the sandbox host's working day, 09:00 to 17:00 UTC.
        assert free[0] == {
            "start": "2030-01-07T09:00:00.000+00:00",
            "end": "2030-01-07T09:30:00.000+00:00",
        }
        read_events = events(gw)
        assert read_events == [
            ("execution_requested", "local-agent"),
            ("slots_read", "local-agent"),
        ]

        async def sandbox_holds() -> list[str]:
            shown = await run_cli_at(gw, *show.command)
            assert shown.returncode == 0, shown.stderr
            return shown.stdout.splitlines()

        # 1. The first call is refused, naming the approval request it opened.
        refused = await run_cli_at(gw, *ask.command)
        assert refused.returncode == 1, refused.stdout
        ask.assert_printed(refused.stderr)
        [approval_id] = re.findall(r"^  approval_id: (apr_[0-9a-f]{24})$", refused.stderr, re.M)
        assert await sandbox_holds() == ["the email sandbox has received nothing for your tenant"]

        # 2. The operator finds it pending, with the payload to be sent.
        listed = await run_cli_at(gw, *listing.command)
        assert listed.returncode == 0, listed.stderr
        assert APPROVAL_ID.findall(listed.stdout) == [approval_id]
        row = row_for(listed.stdout, approval_id)
        assert row[1:4] == ["email.send", "pending", "local-agent"]
        assert row[5] == "0"  # escalation level
        assert row[6] == json.dumps(json.loads(payload), separators=(",", ":"), sort_keys=True)

        # 3. The operator grants it.
        replacements = {"apr_...": approval_id, "...same...": payload}
        granted = await run_cli_at(gw, *substituted(approve.command, replacements))
        assert granted.returncode == 0, granted.stderr
        approve.assert_printed(granted.stdout)
        assert re.fullmatch(rf"granted {approval_id}: use it before \S+Z\n", granted.stdout)

        # 4. The same call with the approval runs, once, at the email sandbox.
        sent = await run_cli_at(gw, *substituted(send.command, replacements))
        assert sent.returncode == 0, sent.stderr
        send.assert_printed(sent.stdout)
        answer = json.loads(sent.stdout)
        assert EXECUTION_ID.match(answer["execution_id"])
        assert answer.get("replayed", False) is False
        received = await sandbox_holds()
        show.assert_printed("\n".join(received))
        sent_payload = json.loads(payload)
        assert f"to: {', '.join(sent_payload['to'])}" in received
        assert f"subject: {sent_payload['subject']}" in received
        assert f"message_id: {answer['result']['message_id']}" in received

        # 5. Running it again replays the answer and sends nothing.
        again = await run_cli_at(gw, *substituted(send.command, replacements))
        assert again.returncode == 0, again.stderr
        replayed = json.loads(again.stdout)
        assert replayed["replayed"] is True
        assert replayed["execution_id"] == answer["execution_id"]
        assert replayed["result"] == answer["result"]
        assert await sandbox_holds() == received

        assert events(gw) == [
            *read_events,
            ("approval_requested", "local-agent"),
            ("approval_granted", "local-operator"),
            ("execution_requested", "local-agent"),
            ("message_sent", "local-agent"),
            ("execution_replayed", "local-agent"),
        ]
        assert {json.loads(str(r["detail"]))["sandbox"] for r in gw.audit_rows()} == {"true"}
        used = await run_cli_at(gw, "approvals", "list", "--status", "used")
        assert APPROVAL_ID.findall(used.stdout) == [approval_id]

    verified = await run_cli("audit", "verify", data_dir=settings.data_dir)
    assert verified.returncode == 0, verified.stdout + verified.stderr
    assert verified.stdout.startswith("audit chain intact: 7 rows")


async def test_the_readme_fault_makes_the_sandbox_fail_then_behave(tmp_path: Path) -> None:
    fault = readme_toml("[sandbox.fail.email]")
    assert set(fault["sandbox"]["fail"]["email"]) == {"status", "at", "times"}
    settings = tried_without_approvals(tmp_path, **fault)
    [send] = [s.command for s in readme_steps("executions resolve") if s.command[0] == "call"]
    async with running_gateway(settings) as gw:
        sent = await run_cli_at(gw, *send, "--idempotency-key", "k1")
        assert sent.returncode == 0, sent.stderr
        assert json.loads(sent.stdout)["attempts"] == fault["sandbox"]["fail"]["email"]["times"] + 1


def tried_without_approvals(tmp_path: Path, **overrides: object) -> Settings:
    """A development gateway with the README's dev.toml, which tries email.send as class A."""
    dev_toml = readme_toml("allow_loosening")
    return gateway_settings(tmp_path, **dev_toml, **overrides)


async def test_the_readme_using_it_commands(tmp_path: Path) -> None:
    steps = [step.command for step in readme_steps("executions resolve")]
    list_connectors, describe_email, health, send, verify, list_unknown, resolve, reconcile = steps
    # A relay that takes the whole message and never confirms it: the outcome is unknown.
    async with scripted_smtp_server(hang_at="end_of_data") as relay:
        settings = tried_without_approvals(
            tmp_path,
            email=relay.settings().model_dump(),
            max_call_deadline_ms=1500,  # how long the gateway waits for the relay's answer
        )
        async with running_gateway(settings) as gw:
            listed = await run_cli_at(gw, *list_connectors)
            assert listed.returncode == 0, listed.stderr
            keys = [row[0] for row in rows_of(listed.stdout)]
            assert keys == sorted(CONNECTOR_KEYS)
            email = row_for(listed.stdout, "email")
            assert email[1:6] == ["Email (SMTP)", "البريد الإلكتروني", "1.0.0", "yes", "real"]
            stripe = ["yes", "sandbox"] if "stripe" in SANDBOXED else ["no", "-"]
            assert row_for(listed.stdout, "stripe")[4:6] == stripe

            described = await run_cli_at(gw, *describe_email)
            assert described.returncode == 0, described.stderr
            first, contract, limits, *table = described.stdout.splitlines()
            assert first == "email  Email (SMTP) / البريد الإلكتروني  v1.0.0"
            assert contract == "contract: https://www.rfc-editor.org/rfc/rfc5321"
            assert "classification: DATA_CLASSIFICATION_CONFIDENTIAL" in limits
            # dev.toml's override is what the gateway enforces, and what it describes.
            assert row_for("\n".join(table), "send")[1:4] == ["A", "gateway", "-"]

            before = await run_cli_at(gw, *health)
            assert before.returncode == 0, before.stderr
            assert row_for(before.stdout, "email")[1:3] == ["unknown", "real"]
            for key in CONNECTOR_KEYS - {"email"}:
                expected = ["unknown", "sandbox"] if key in SANDBOXED else ["not_configured", "-"]
                assert row_for(before.stdout, key)[1:3] == expected

            sent = await run_cli_at(gw, *send)
            assert sent.returncode == 1, sent.stdout
            assert sent.stderr.startswith("error: UNKNOWN: ")
            assert "  reason: OUTCOME_UNKNOWN\n" in sent.stderr
            [execution_id] = re.findall(r"^  execution_id: ([0-9a-f]{32})$", sent.stderr, re.M)
            assert relay.data_received.is_set()  # the relay has the whole message

            verified = await run_cli(*verify, data_dir=settings.data_dir)
            assert verified.returncode == 0, verified.stdout + verified.stderr
            assert verified.stdout.startswith("audit chain intact: 2 rows")

            unknown = await run_cli_at(gw, *list_unknown)
            assert unknown.returncode == 0, unknown.stderr
            assert [row[:5] for row in rows_of(unknown.stdout)] == [
                [execution_id, "email.send", "unknown", "1", "local-agent"]
            ]

            resolved = await run_cli_at(gw, *substituted(resolve, {"EXECUTION_ID": execution_id}))
            assert resolved.returncode == 0, resolved.stderr
            assert resolved.stdout == f"resolved {execution_id}: succeeded\n"
            assert rows_of((await run_cli_at(gw, *list_unknown)).stdout) == []
            shown = await run_cli_at(gw, "executions", "get", execution_id)
            assert json.loads(shown.stdout)["resolution_note"] == "seen at the vendor"
            [row] = [r for r in gw.audit_rows() if r["event_type"] == "outcome_resolved"]
            assert (row["caller"], row["execution_id"]) == ("local-operator", execution_id)
            assert json.loads(str(row["detail"]))["resolution"] == "succeeded"
            # Nothing of the connector is left for its vendor to be asked about.
            reconciled = await run_cli_at(gw, *reconcile)
            assert (reconciled.returncode, reconciled.stdout) == (
                0,
                f"no execution of {reconcile[-1]} has an unknown outcome\n",
            )

            # "Add --json to any of them": the commands that only read, once more for scripts.
            for command in (list_connectors, describe_email, health, verify, list_unknown):
                scripted = await run_cli_at(gw, *command, "--json")
                assert scripted.returncode == 0, (command, scripted.stderr)
                json.loads(scripted.stdout)
