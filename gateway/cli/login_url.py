"""``connector-gateway login-url``: the development mode's sign-in link for a browser."""

from __future__ import annotations

import argparse

from gateway.cli.command import Commands, set_handler
from gateway.cli.output import print_error
from gateway.http.login import read_login_url
from gateway.settings import Settings


def add_commands(commands: Commands) -> None:
    login_url = commands.add_parser(
        "login-url",
        help="development mode: print the one-time link that signs a browser in to the HTTP side",
    )
    set_handler(login_url, _print_login_url)


def _print_login_url(_args: argparse.Namespace, settings: Settings) -> int:
    """Prints the one-time link the running gateway wrote under its data directory."""
    try:
        print(read_login_url(settings.data_dir))
    except (OSError, ValueError):
        print_error(
            f"no login link in {settings.data_dir}: is the gateway running there in "
            "development mode (auth.mode = development)?"
        )
        return 1
    return 0
