"""``connector-gateway audit verify``: check the audit trail in the database itself."""

from __future__ import annotations

import argparse
import asyncio
import json

from gateway.anchor_key import load_anchor_key
from gateway.audit.verify import verify_chain
from gateway.cli.command import Commands, set_handler
from gateway.cli.output import print_error
from gateway.settings import Settings


def add_commands(commands: Commands) -> None:
    audit = commands.add_parser("audit", help="the audit trail")
    actions = audit.add_subparsers(dest="action", required=True)
    verify = actions.add_parser("verify", help="check the hash chain and its anchors")
    verify.add_argument("--json", action="store_true")
    set_handler(verify, _verify)


def _verify(args: argparse.Namespace, settings: Settings) -> int:
    return asyncio.run(_verify_chain(args, settings))


async def _verify_chain(args: argparse.Namespace, settings: Settings) -> int:
    """Reads the database under the data directory; no running gateway is needed."""
    if not settings.database_path.exists():
        print_error(f"no audit database at {settings.database_path}")
        return 1
    try:
        key = load_anchor_key(settings, create=False)
    except (ValueError, OSError) as error:  # a key too short, or none to be found
        print_error(str(error))
        return 1
    report = await verify_chain(
        settings.database_path, key, anchor_every_s=settings.audit.anchor_every_s
    )
    if args.json:
        print(
            json.dumps(
                {
                    "ok": report.ok,
                    "rows_checked": report.rows_checked,
                    "anchors_checked": report.anchors_checked,
                    "first_broken_seq": report.first_broken_seq,
                    "problem": report.problem,
                }
            )
        )
    elif report.ok:
        print(
            f"audit chain intact: {report.rows_checked} rows, "
            f"{report.anchors_checked} anchors verified"
        )
    else:
        where = f" at row {report.first_broken_seq}" if report.first_broken_seq else ""
        print(f"audit chain BROKEN{where}: {report.problem}")
    return 0 if report.ok else 1
