"""The ``salesforce`` connector: Salesforce CRM through the REST API (sObject rows and SOQL
queries), signed in with the OAuth 2.0 JWT bearer flow."""

from gateway.plugin import ConnectorPlugin

from .account import SalesforceAccount
from .adapter import SalesforceAdapter
from .metadata import METADATA
from .sandbox import SalesforceSandbox

PLUGIN = ConnectorPlugin(METADATA, SalesforceAccount, SalesforceAdapter, SalesforceSandbox)

__all__ = ["PLUGIN"]
