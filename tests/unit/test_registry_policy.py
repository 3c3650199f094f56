"""Deployment policy may tighten classes; only local development may loosen, never class C."""

from __future__ import annotations

import pytest

from gateway.contract import PolicyClass
from gateway.registry import Connector, Registry
from tests.support.fake_adapter import FAKE_METADATA, FakeAdapter


def registry(overrides: dict[str, PolicyClass], allow_loosening: bool = False) -> Registry:
    return Registry(
        [Connector(FakeAdapter(), registered=True)],
        policy_overrides=overrides,
        allow_loosening=allow_loosening,
    )


def policy(reg: Registry, operation: str) -> PolicyClass:
    spec = FAKE_METADATA.operation(operation)
    assert spec is not None
    return reg.policy_class("fake", spec)


def test_tightening_is_always_allowed() -> None:
    reg = registry({"fake.echo": PolicyClass.B, "fake.guarded": PolicyClass.C})
    assert policy(reg, "echo") is PolicyClass.B
    assert policy(reg, "guarded") is PolicyClass.C
    assert policy(reg, "lookup") is PolicyClass.A


def test_loosening_needs_local_development_flag() -> None:
    with pytest.raises(ValueError, match="loosens class B to A"):
        registry({"fake.guarded": PolicyClass.A})
    assert policy(registry({"fake.guarded": PolicyClass.A}, True), "guarded") is PolicyClass.A


def test_class_c_is_never_loosened() -> None:
    with pytest.raises(ValueError, match="would loosen class C"):
        registry({"fake.forbidden": PolicyClass.A}, allow_loosening=True)


def test_override_of_unknown_operation_is_refused() -> None:
    with pytest.raises(ValueError, match="names no known operation"):
        registry({"fake.nothing": PolicyClass.C})


def test_duplicate_connector_is_refused() -> None:
    with pytest.raises(ValueError, match="registered twice"):
        Registry([Connector(FakeAdapter(), registered=True)] * 2)
