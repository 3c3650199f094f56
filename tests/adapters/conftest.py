"""Makes the SMTP peer fixtures of ``smtp_peers`` available to the tests in this package."""

from .smtp_peers import (
    auth_smtp_server,
    hang_after_data_server,
    smtp_server,
    stalled_smtp_server,
)

__all__ = ["auth_smtp_server", "hang_after_data_server", "smtp_server", "stalled_smtp_server"]
