"""``connector-gateway serve``: run the gateway until it is told to stop."""

from __future__ import annotations

import argparse
import asyncio
import logging

from gateway.cli.command import Commands, set_handler
from gateway.cli.output import print_error
from gateway.settings import Settings


def add_commands(commands: Commands) -> None:
    serve = commands.add_parser("serve", help="run the gateway until SIGTERM or SIGINT")
    set_handler(serve, _serve)


def _serve(_args: argparse.Namespace, settings: Settings) -> int:
    # Imported here: the composition root loads every adapter, which no other command needs.
    from gateway.app import serve

    logging.getLogger().setLevel(logging.INFO)  # a running gateway reports its start and stop
    try:
        asyncio.run(serve(settings))
    except ValueError as error:  # the start-up checks' refusal of the configuration
        print_error(str(error))
        return 2
    return 0
