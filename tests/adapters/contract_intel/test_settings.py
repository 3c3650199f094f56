"""The account settings as an operator writes them: the environment per tenant, the private
key in a file, defaults per DocuSign environment, and a misspelt setting refused by name."""

from __future__ import annotations

from pathlib import Path

import pytest
from pydantic import ValidationError

from adapters.contract_intel import PLUGIN
from adapters.contract_intel.account import ContractIntelAccount
from gateway.settings import Settings

from .fakes import ACCOUNT_ID, INTEGRATION_KEY, USER_ID


def test_each_tenants_account_comes_from_the_environment(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    for name, value in {
        "TENANTS__ACME__CONTRACT_INTEL__INTEGRATION_KEY": INTEGRATION_KEY,
        "TENANTS__ACME__CONTRACT_INTEL__USER_ID": USER_ID,
        "TENANTS__ACME__CONTRACT_INTEL__PRIVATE_KEY_FILE": str(tmp_path / "acme.pem"),
        "TENANTS__ACME__CONTRACT_INTEL__ACCOUNT_ID": ACCOUNT_ID,
        "TENANTS__ACME__CONTRACT_INTEL__ENVIRONMENT": "production",
        "TENANTS__ACME__CONTRACT_INTEL__SCOPES": '["signature", "impersonation"]',
    }.items():
        monkeypatch.setenv(f"CONNECTOR_GATEWAY_{name}", value)

    settings = Settings(data_dir=tmp_path)

    acme = PLUGIN.account_of(settings, "acme")
    assert acme is not None
    assert acme.complete
    assert (acme.auth_url, acme.navigator_base, acme.audience) == (
        "https://account.docusign.com",
        "https://api.docusign.com",
        "account.docusign.com",
    )
    assert acme.scopes == ("signature", "impersonation")
    assert PLUGIN.account_of(settings, "default") is None


def test_the_demo_environment_is_the_default_and_hosts_can_be_overridden() -> None:
    demo = ContractIntelAccount()
    assert (demo.auth_url, demo.navigator_base, demo.audience) == (
        "https://account-d.docusign.com",
        "https://api-d.docusign.com",
        "account-d.docusign.com",
    )
    assert demo.scopes == (
        "signature",
        "impersonation",
        "adm_store_unified_repo_read",
        "models_read",
    )
    assert not demo.complete
    moved = ContractIntelAccount(auth_server="https://login.example.com/", navigator_url=None)
    assert moved.auth_url == "https://login.example.com"


@pytest.mark.parametrize(
    ("settings", "named"),
    [
        ({"integration_kye": INTEGRATION_KEY}, "integration_kye"),
        ({"user_id": "someone@example.com"}, "user_id"),
        ({"auth_server": "account-d.docusign.com"}, "auth_server"),
        ({"navigator_url": "https://api-d.docusign.com/?x=1"}, "navigator_url"),
        ({"scopes": ["signature impersonation"]}, "scopes"),
        ({"environment": "staging"}, "environment"),
    ],
)
def test_a_wrong_setting_is_refused_by_name(settings: dict[str, object], named: str) -> None:
    with pytest.raises(ValidationError) as caught:
        ContractIntelAccount.model_validate(settings)
    assert named in str(caught.value)
