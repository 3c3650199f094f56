"""A start with wrong settings stops with a message naming each mistake and where to fix it,
exit status 2, and never a setting's value: a secret set under a mistyped name stays out of
the output (and so out of any log that collects it)."""

from __future__ import annotations

from pathlib import Path

import pytest

from gateway.cli import main

SECRET = "sk_live_not-for-any-log-4f1c"


def _start(capsys: pytest.CaptureFixture[str]) -> tuple[int, str]:
    status = main(["serve"])
    captured = capsys.readouterr()
    return status, captured.out + captured.err


def test_mistakes_are_named_with_their_variables_and_no_value(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("CONNECTOR_GATEWAY_EMAIL__PASWORD", SECRET)
    monkeypatch.setenv("CONNECTOR_GATEWAY_AUDIT__MAX_BATCH", SECRET)

    status, output = _start(capsys)

    assert status == 2
    assert "the settings are invalid (2 mistake(s))" in output
    assert "email.pasword (variable CONNECTOR_GATEWAY_EMAIL__PASWORD)" in output
    assert "Extra inputs are not permitted" in output
    assert "audit.max_batch (variable CONNECTOR_GATEWAY_AUDIT__MAX_BATCH)" in output
    assert "valid integer" in output
    assert SECRET not in output
    assert "Traceback" not in output


def test_a_mistake_in_the_configuration_file_shows_no_value_either(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    config = tmp_path / "gateway.toml"
    config.write_text(f'[email]\nhost = "smtp.example.com"\npasswrd = "{SECRET}"\n')
    monkeypatch.setenv("CONNECTOR_GATEWAY_CONFIG", str(config))

    status, output = _start(capsys)

    assert status == 2
    assert "email.passwrd" in output
    assert SECRET not in output


def test_a_configuration_file_that_is_not_there_stops_the_start(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    missing = tmp_path / "gateway.tmol"
    monkeypatch.setenv("CONNECTOR_GATEWAY_CONFIG", str(missing))

    status, output = _start(capsys)

    assert status == 2
    assert f"CONNECTOR_GATEWAY_CONFIG names {missing}, which is not a file" in output


def test_a_configuration_file_that_is_not_toml_names_where(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    config = tmp_path / "gateway.toml"
    config.write_text(f'grpc_address = "127.0.0.1:50051"\nanchor_key = {SECRET}\n')
    monkeypatch.setenv("CONNECTOR_GATEWAY_CONFIG", str(config))

    status, output = _start(capsys)

    assert status == 2
    assert f"{config} is not valid TOML" in output
    assert "line 2" in output
    assert SECRET not in output
