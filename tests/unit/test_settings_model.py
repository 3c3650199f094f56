"""The settings model built from the plugins: each account where an operator expects it, read
per tenant through its plugin, and a plugin list that does not fit the settings refused."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import pytest
from pydantic import ValidationError

from adapters.email import PLUGIN as EMAIL
from adapters.plugins import PLUGINS
from gateway.plugin import ConnectorPlugin
from gateway.settings import Settings, settings_model
from tests.toy_connector import PLUGIN as TOY


def test_accounts_come_from_the_environment_per_tenant_with_secrets_in_files(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    password = tmp_path / "password"
    password.write_text("s3cret-from-file\n", encoding="utf-8")
    monkeypatch.setenv("CONNECTOR_GATEWAY_EMAIL__HOST", "smtp.default.example")
    monkeypatch.setenv("CONNECTOR_GATEWAY_EMAIL__PASSWORD_FILE", str(password))
    monkeypatch.setenv("CONNECTOR_GATEWAY_TENANTS__ACME__EMAIL__HOST", "smtp.acme.example")
    monkeypatch.setenv("CONNECTOR_GATEWAY_TENANTS__GLOBEX__RATE_LIMITS", "{}")
    settings = Settings()

    default = EMAIL.account_of(settings, "default")
    acme = EMAIL.account_of(settings, "acme")
    assert default is not None
    assert acme is not None
    assert (default.host, acme.host) == ("smtp.default.example", "smtp.acme.example")
    assert default.resolved_password() == "s3cret-from-file"
    assert acme.resolved_password() is None  # never the default tenant's
    assert EMAIL.account_of(settings, "globex") is None
    assert EMAIL.account_of(settings, "initech") is None


def test_a_default_entry_under_tenants_names_the_default_tenants_own_account() -> None:
    settings = Settings(
        email={"host": "smtp.top.example"},
        tenants={"default": {"email": {"host": "smtp.own.example"}}},
    )
    account = EMAIL.account_of(settings, "default")
    assert account is not None
    assert account.host == "smtp.own.example"


def test_a_connector_needs_a_place_in_the_settings(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="no place for the 'toy' account"):
        TOY.connector(Settings(data_dir=tmp_path))
    assert TOY.connector(settings_model((*PLUGINS, TOY))(data_dir=tmp_path)).tenants == {}


def test_a_connector_key_may_not_take_a_settings_key() -> None:
    audit = ConnectorPlugin(replace(TOY.metadata, key="audit"), TOY.account_model, TOY.build)
    with pytest.raises(ValueError, match="'audit' would take a settings key already in use"):
        settings_model((*PLUGINS, audit))
    with pytest.raises(ValueError, match="'email' would take a settings key already in use"):
        settings_model((*PLUGINS, EMAIL))


@pytest.mark.parametrize(
    ("variable", "key"),
    [
        ("CONNECTOR_GATEWAY_EMAIL__FORM_ADDRESS", "form_address"),
        ("CONNECTOR_GATEWAY_TENANTS__ACME__EMIAL__HOST", "emial"),
        ("CONNECTOR_GATEWAY_TENANTS__ACME__EMAIL__HOTS", "hots"),
        ("CONNECTOR_GATEWAY_RELIABILITY__BREAKER_OPEN_SECONDS", "breaker_open_seconds"),
        ("CONNECTOR_GATEWAY_AUDIT__ANCHOR_EVERY_ROW", "anchor_every_row"),
    ],
)
def test_a_misspelt_key_stops_the_start_naming_it(
    monkeypatch: pytest.MonkeyPatch, variable: str, key: str
) -> None:
    """A typo must not leave a default (or no account at all) in place without a word."""
    monkeypatch.setenv(variable, "1")
    with pytest.raises(ValidationError) as refused:
        Settings()
    assert key in str(refused.value)
    assert "Extra inputs are not permitted" in str(refused.value)
