"""What a command group hands the entry point: its commands, each carrying its handler."""

from __future__ import annotations

import argparse
from collections.abc import Callable
from typing import TypeAlias

from gateway.settings import Settings

Commands: TypeAlias = "argparse._SubParsersAction[argparse.ArgumentParser]"
"""The top-level commands of ``connector-gateway``, to which each group adds its own."""

Handler: TypeAlias = Callable[[argparse.Namespace, Settings], int]
"""Runs one parsed command and returns the process's exit status."""

AddCommands: TypeAlias = Callable[[Commands], None]
"""A group's entry: adds the group's commands and their handlers."""


def set_handler(parser: argparse.ArgumentParser, handler: Handler) -> None:
    """Makes ``handler`` run when the command line selects ``parser``."""
    parser.set_defaults(handler=handler)


def handler_of(args: argparse.Namespace) -> Handler:
    """The handler of the command the command line selected."""
    handler: Handler = args.handler
    return handler
