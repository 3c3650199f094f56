"""The audit anchor key: a configured key must be long enough to be a key."""

from __future__ import annotations

from pathlib import Path

import pytest

from gateway.anchor_key import MIN_ANCHOR_KEY_BYTES, load_anchor_key
from gateway.app import Gateway
from tests.support.cli import run_cli
from tests.support.gateway import gateway_settings

SHORT = "too-short-secret-31-bytes-long!"
LONG = "a-configured-anchor-key-of-32-b!"


def test_a_short_configured_key_is_refused_naming_the_setting(tmp_path: Path) -> None:
    assert len(SHORT.encode()) == MIN_ANCHOR_KEY_BYTES - 1
    settings = gateway_settings(tmp_path, audit={"anchor_key": SHORT})
    with pytest.raises(ValueError, match=r"audit\.anchor_key is 31 bytes") as caught:
        load_anchor_key(settings, create=True)
    assert f"at least {MIN_ANCHOR_KEY_BYTES} bytes" in str(caught.value)
    assert SHORT not in str(caught.value)

    key_file = tmp_path / "anchor.key"
    key_file.write_text(SHORT + "\n", encoding="utf-8")
    settings = gateway_settings(tmp_path, audit={"anchor_key_file": str(key_file)})
    with pytest.raises(ValueError, match=r"audit\.anchor_key_file .*anchor\.key is 31 bytes"):
        load_anchor_key(settings, create=True)


def test_a_long_enough_key_and_the_generated_development_key_are_accepted(
    tmp_path: Path,
) -> None:
    assert len(LONG.encode()) == MIN_ANCHOR_KEY_BYTES
    configured = gateway_settings(tmp_path / "a", audit={"anchor_key": LONG})
    assert load_anchor_key(configured, create=True) == LONG.encode()
    development = gateway_settings(tmp_path / "b")
    generated = load_anchor_key(development, create=True)
    assert len(generated) >= MIN_ANCHOR_KEY_BYTES
    assert load_anchor_key(development, create=False) == generated


async def test_the_gateway_does_not_start_with_a_short_key(tmp_path: Path) -> None:
    gateway = Gateway(gateway_settings(tmp_path, audit={"anchor_key": SHORT}))
    try:
        with pytest.raises(ValueError, match=r"audit\.anchor_key is 31 bytes"):
            await gateway.start()
    finally:
        await gateway.stop(grace_s=0)


async def test_audit_verify_with_a_short_key_says_why(tmp_path: Path) -> None:
    (tmp_path / "gateway.db").touch()
    ran = await run_cli(
        "audit",
        "verify",
        data_dir=tmp_path,
        env={"CONNECTOR_GATEWAY_AUDIT__ANCHOR_KEY": SHORT},
    )
    assert ran.returncode == 1
    assert "audit.anchor_key is 31 bytes" in ran.stderr
    assert "Traceback" not in ran.stderr
    assert SHORT not in ran.stdout + ran.stderr
