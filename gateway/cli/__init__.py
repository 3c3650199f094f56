"""The ``connector-gateway`` command: run the gateway and talk to it.

Output is a readable table for people; ``--json`` prints JSON for scripts. Errors from the
gateway are printed with their code, reason and metadata, and exit with status 1.

Each command group is one module that adds its commands, each with its handler
(``gateway.cli.command``); ``GROUPS`` lists them in the order ``--help`` shows them.
"""

from __future__ import annotations

import argparse
import logging
import sys
from collections.abc import Sequence

from gateway.cli import (
    approvals,
    audit,
    call,
    connectors,
    executions,
    health,
    login_url,
    sandbox,
    serve,
)
from gateway.cli.command import AddCommands, handler_of
from gateway.cli.connection import add_connection_options
from gateway.settings import Settings, SettingsError, load_settings

GROUPS: tuple[AddCommands, ...] = (
    serve.add_commands,
    login_url.add_commands,
    connectors.add_commands,
    call.add_commands,
    health.add_commands,
    audit.add_commands,
    approvals.add_commands,
    executions.add_commands,
    sandbox.add_commands,
)


def build_parser(settings: Settings) -> argparse.ArgumentParser:
    """The whole command line; ``settings`` give the defaults of the connection options."""
    parser = argparse.ArgumentParser(prog="connector-gateway", description=__doc__.splitlines()[0])
    add_connection_options(parser, settings)
    commands = parser.add_subparsers(dest="command", required=True)
    for add_commands in GROUPS:
        add_commands(commands)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    try:
        settings = load_settings()
    except SettingsError as error:
        print(f"connector-gateway: {error}", file=sys.stderr)
        return 2
    args = build_parser(settings).parse_args(argv)
    logging.basicConfig(
        level=logging.WARNING, format="%(asctime)s %(levelname)s %(name)s %(message)s"
    )
    return handler_of(args)(args, settings)
