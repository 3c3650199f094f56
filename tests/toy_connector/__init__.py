"""A toy connector kept outside ``adapters/``: a notes service spoken to over HTTP.

It shows that a connector is one folder: the gateway serves it when its plugin joins the list,
with no change to any core file.
"""

from gateway.plugin import ConnectorPlugin

from .account import ToyAccount
from .adapter import ToyAdapter
from .metadata import METADATA
from .sandbox import ToySandbox

PLUGIN = ConnectorPlugin(METADATA, ToyAccount, ToyAdapter, ToySandbox)

__all__ = ["PLUGIN"]
