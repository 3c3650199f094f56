"""Options several commands share, and reading the JSON their values may hold."""

from __future__ import annotations

import argparse
import json
from typing import Any

from gateway.cli.output import print_error


def add_paging_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--page-size", type=int, default=0, help="at most this many (default 100, at most 1000)"
    )
    parser.add_argument(
        "--page-token", default="", help="the token printed after the previous page"
    )


def json_object(text: str, option: str) -> dict[str, Any] | None:
    """``text`` parsed as a JSON object; None, once stderr says why, when it is not one."""
    try:
        value = json.loads(text)
    except json.JSONDecodeError as error:
        print_error(f"{option} is not valid JSON: {error}")
        return None
    if not isinstance(value, dict):
        print_error(f"{option} must be a JSON object")
        return None
    return value
