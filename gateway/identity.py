"""Who is calling: the caller and the tenant it acts for."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Identity:
    caller: str
    tenant: str
    operator: bool = False
