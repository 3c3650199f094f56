"""Cal.com's error body, read into the vendor's own (code, message).

Cal.com answers a failure with ``{"status": "error", "timestamp", "path", "error": {"code",
"message", "details"}}``; ``code`` is a token such as ``BadRequestException`` and
``message`` a sentence, sometimes a list of them. Anything else falls back to the shared
parser, which knows the common shapes.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from adapters.http import default_error_parser


def _sentence(value: Any) -> str:
    if isinstance(value, list):
        return "; ".join(_sentence(item) for item in value if _sentence(item))
    if value is None or isinstance(value, Mapping):
        return ""
    return " ".join(str(value).split())


def cal_error(status: int, body: Any) -> tuple[str, str]:
    if isinstance(body, Mapping) and isinstance(body.get("error"), Mapping):
        error = body["error"]
        code = error.get("code")
        return ("" if code is None else _sentence(code)), _sentence(error.get("message"))
    return default_error_parser(status, body)
