"""Checks a reviewer makes of the layout: every governed RPC has a method rule, reliability
sits below the chain, and servicers take admitted calls without checking them."""

from __future__ import annotations

import ast
from pathlib import Path

from connectorgateway.v1 import (
    approval_service_pb2,
    connector_service_pb2,
    execution_service_pb2,
    metric_dictionary_service_pb2,
    sandbox_service_pb2,
)
from gateway.methods import GOVERNED_SERVICES, RULES

ROOT = Path(__file__).resolve().parents[2]
GATEWAY = ROOT / "gateway"


def _modules(folder: Path) -> list[Path]:
    return sorted(folder.rglob("*.py"))


def _imports(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module)
    return names


def test_every_governed_rpc_has_exactly_one_rule() -> None:
    declared = {
        f"/{service.full_name}/{method.name}"
        for module in (
            connector_service_pb2,
            approval_service_pb2,
            execution_service_pb2,
            sandbox_service_pb2,
            metric_dictionary_service_pb2,
        )
        for service in module.DESCRIPTOR.services_by_name.values()
        if service.full_name in GOVERNED_SERVICES
        for method in service.methods
    }
    assert len(declared) >= 18
    assert set(RULES) == declared


def test_reliability_imports_nothing_of_the_chain_or_the_faces() -> None:
    offending = {
        str(path.relative_to(ROOT)): sorted(
            name
            for name in _imports(path)
            if name.startswith(("gateway.interceptors", "gateway.api"))
        )
        for path in _modules(GATEWAY / "reliability")
    }
    assert {path: names for path, names in offending.items() if names} == {}


def test_servicers_never_check_the_admitted_call() -> None:
    """The chain's ``admit`` is the one check that the layers set what a method needs."""
    asserting: list[str] = []
    for folder in (GATEWAY / "api", GATEWAY / "execution"):
        for path in _modules(folder):
            tree = ast.parse(path.read_text(encoding="utf-8"))
            asserting += [
                f"{path.relative_to(ROOT)}:{node.lineno}"
                for node in ast.walk(tree)
                if isinstance(node, ast.Assert)
            ]
    assert asserting == []


def test_audit_events_are_built_in_one_place() -> None:
    """A row's fields mean the same whoever writes it: only gateway/audit/events.py builds
    ``AuditEvent``s."""
    building: list[str] = []
    for path in _modules(GATEWAY) + _modules(ROOT / "adapters"):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        building += [
            f"{path.relative_to(ROOT)}:{node.lineno}"
            for node in ast.walk(tree)
            if isinstance(node, ast.Call)
            and isinstance(node.func, ast.Name)
            and node.func.id == "AuditEvent"
        ]
    assert building
    assert {place.partition(":")[0] for place in building} == {"gateway/audit/events.py"}
