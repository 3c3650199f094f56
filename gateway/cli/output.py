"""What commands print: tables for people, JSON for scripts, and errors on stderr."""

from __future__ import annotations

import json
import sys
from collections.abc import Sequence
from typing import Any

import grpc
from google.protobuf import json_format
from google.protobuf.message import Message
from google.rpc import error_details_pb2
from grpc_status import rpc_status


def table(rows: Sequence[Sequence[str]], headers: Sequence[str]) -> str:
    """Columns padded to their widest cell, under a ruled header."""
    widths = [
        max(len(h), *(len(r[i]) for r in rows)) if rows else len(h) for i, h in enumerate(headers)
    ]

    def join(cells: Sequence[str]) -> str:
        return "  ".join(c.ljust(w) for c, w in zip(cells, widths, strict=True)).rstrip()

    return "\n".join([join(headers), join(["-" * w for w in widths]), *map(join, rows)])


def vendor(*, configured: bool, sandbox: bool) -> str:
    """What a connector acts at for the caller's tenant: its vendor's sandbox, the vendor
    ("real"), or nothing ("-": not configured)."""
    if sandbox:
        return "sandbox"
    return "real" if configured else "-"


def message_dict(message: Message) -> dict[str, Any]:
    """A message as JSON-ready values, with the field names of the proto files."""
    return json_format.MessageToDict(message, preserving_proto_field_name=True)


def print_json(value: object, *, indent: int | None = 2) -> None:
    print(json.dumps(value, ensure_ascii=False, indent=indent))


def print_next_page(token: str) -> None:
    """After a table: how to ask for the rest, when there is more."""
    if token:
        print(f"more: repeat with --page-token {token}")


def print_error(text: str) -> None:
    print(f"error: {text}", file=sys.stderr)


def print_rpc_error(error: grpc.aio.AioRpcError) -> None:
    """The gateway's refusal: its code and message, then its ErrorInfo and BadRequest."""
    lines = [f"error: {error.code().name}: {error.details()}"]
    status = rpc_status.from_call(error)  # type: ignore[arg-type]  # an aio error is a Call
    for detail in status.details if status else ():
        if detail.Is(error_details_pb2.ErrorInfo.DESCRIPTOR):
            info = error_details_pb2.ErrorInfo()
            detail.Unpack(info)
            lines.append(f"  reason: {info.reason}")
            lines.extend(f"  {k}: {v}" for k, v in sorted(info.metadata.items()))
        elif detail.Is(error_details_pb2.BadRequest.DESCRIPTOR):
            bad = error_details_pb2.BadRequest()
            detail.Unpack(bad)
            lines.extend(f"  field {v.field}: {v.description}" for v in bad.field_violations)
    print("\n".join(lines), file=sys.stderr)
