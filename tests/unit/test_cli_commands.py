"""Every command group registers its commands: each command answers ``--help`` naming its
options, and runs its own handler (a command that calls the gateway reaches ``--address``)."""

from __future__ import annotations

import importlib
import pkgutil
import socket
from collections.abc import Iterator
from pathlib import Path

import pytest

import gateway.cli
from gateway.cli import GROUPS, main

# Every command and the arguments its help names: the command line as users know it.
COMMANDS: dict[str, list[str]] = {
    "serve": [],
    "login-url": [],
    "connectors list": ["--json"],
    "connectors describe": ["key", "--json"],
    "connectors catalogue": ["--write"],
    "connectors disable": ["key", "--reason"],
    "connectors enable": ["key", "--reason"],
    "call": ["key", "operation", "--payload", "--idempotency-key", "--approval-id", "--json"],
    "health": ["key", "--json"],
    "audit verify": ["--json"],
    "approvals list": ["--status", "--page-size", "--page-token", "--json"],
    "approvals get": ["approval_id"],
    "approvals approve": ["approval_id", "--note"],
    "approvals deny": ["approval_id", "--reason"],
    "executions list": ["--status", "--page-size", "--page-token", "--json"],
    "executions get": ["execution_id"],
    "executions resolve": ["execution_id", "--resolution", "--note", "--result", "--json"],
    "executions reconcile": ["execution_id", "--connector"],
    "sandbox show": ["key", "--json"],
}

# The shortest complete use of each command that calls the gateway.
GATEWAY_CALLS = [
    "connectors list",
    "connectors describe email",
    "connectors disable email --reason incident",
    "connectors enable email",
    "call email send --payload {}",
    "health",
    "approvals list",
    "approvals get apr_1",
    "approvals approve apr_1",
    "approvals deny apr_1 --reason no",
    "executions list",
    "executions get exe_1",
    "executions resolve exe_1 --resolution not-acted --note checked",
    "executions reconcile exe_1",
    "sandbox show email",
]


def help_of(command: list[str], capsys: pytest.CaptureFixture[str]) -> str:
    with pytest.raises(SystemExit) as exited:
        main([*command, "--help"])
    assert exited.value.code == 0
    return capsys.readouterr().out


@pytest.mark.parametrize(("command", "arguments"), COMMANDS.items())
def test_every_command_names_its_arguments_in_its_help(
    command: str, arguments: list[str], capsys: pytest.CaptureFixture[str]
) -> None:
    shown = help_of(command.split(), capsys)
    assert shown.startswith(f"usage: connector-gateway {command} [-h]")
    for argument in arguments:
        assert argument in shown


def test_the_command_line_offers_exactly_these_commands(
    capsys: pytest.CaptureFixture[str],
) -> None:
    groups: dict[str, list[str]] = {}
    for command in COMMANDS:
        group, *action = command.split()
        groups.setdefault(group, []).extend(action)
    assert "{" + ",".join(groups) + "}" in help_of([], capsys)
    for group, actions in groups.items():
        if actions:
            assert "{" + ",".join(actions) + "}" in help_of([group], capsys)


def test_every_module_that_adds_commands_is_a_listed_group() -> None:
    modules = [
        importlib.import_module(f"gateway.cli.{info.name}")
        for info in pkgutil.iter_modules(gateway.cli.__path__)
        if info.name != "__main__"  # running it is running the command
    ]
    adding = [module.add_commands for module in modules if hasattr(module, "add_commands")]
    assert len(adding) == len(GROUPS)
    assert set(adding) == set(GROUPS)


@pytest.fixture
def refusing_address() -> Iterator[str]:
    """An address whose port is taken but not listening, so a connection to it is refused."""
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        yield f"127.0.0.1:{taken.getsockname()[1]}"


@pytest.mark.parametrize("command", GATEWAY_CALLS)
def test_every_gateway_command_calls_the_address_it_is_given(
    command: str, refusing_address: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["--address", refusing_address, "--timeout", "10", *command.split()]) == 1
    assert capsys.readouterr().err.startswith("error: UNAVAILABLE: ")


def test_local_commands_read_the_data_directory(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("CONNECTOR_GATEWAY_DATA_DIR", str(tmp_path))
    assert main(["audit", "verify"]) == 1
    assert capsys.readouterr().err.startswith(f"error: no audit database at {tmp_path}")
    assert main(["login-url"]) == 1
    assert capsys.readouterr().err.startswith(f"error: no login link in {tmp_path}")
