"""The marker a vendor deduplicates by: one per (tenant, caller, connector, operation, key),
apart for compensations, and never the agent's key itself."""

from __future__ import annotations

import re

from gateway.call import KeyRef
from gateway.markers import action_marker, compensation_marker, marker_for

BASE = ("acme", "jwt:https://issuer#agent-1", "stripe", "create_customer", "order-42")


def test_a_marker_is_hex_sha256_and_hides_the_key() -> None:
    marker = action_marker(*BASE)
    assert re.fullmatch(r"[0-9a-f]{64}", marker)
    assert "order-42" not in marker
    assert action_marker(*BASE) == marker  # the same on every attempt and re-send


def test_each_part_of_the_action_changes_the_marker() -> None:
    markers = {action_marker(*BASE)}
    for index in range(len(BASE)):
        changed = list(BASE)
        changed[index] = changed[index] + "x"
        markers.add(action_marker(*changed))
    assert len(markers) == len(BASE) + 1


def test_parts_cannot_be_shifted_into_each_other() -> None:
    # "ab" + "c" and "a" + "bc" must not collide, as plain concatenation would.
    assert action_marker("ab", "c", "s", "o", "k") != action_marker("a", "bc", "s", "o", "k")


def test_a_compensation_is_derived_apart_from_any_action() -> None:
    undo = compensation_marker("acme", "stripe", "cancel_payment_intent", "exec-1")
    assert undo != action_marker("acme", "", "stripe", "cancel_payment_intent", "exec-1")
    key = KeyRef(scope="", key="compensation exec-1", fingerprint="f")
    assert marker_for("acme", key, "stripe", "cancel_payment_intent", compensates="exec-1") == undo
    # Whoever asks for the undo, it is the same one.
    other = KeyRef(scope="someone", key="compensation exec-1", fingerprint="g")
    assert (
        marker_for("acme", other, "stripe", "cancel_payment_intent", compensates="exec-1") == undo
    )


def test_marker_for_an_action_uses_the_callers_own_key() -> None:
    key = KeyRef(scope=BASE[1], key=BASE[4], fingerprint="f")
    assert marker_for(BASE[0], key, BASE[2], BASE[3]) == action_marker(*BASE)
