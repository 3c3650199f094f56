"""The live health probe: can the relay be reached and does it speak SMTP?"""

from __future__ import annotations

import asyncio

import aiosmtplib
from aiosmtplib import SMTPResponseException

from gateway.contract import ProbeResult
from gateway.errors import GatewayError

from .client import Phase, Progress, SmtpClient

DEFAULT_PROBE_TIMEOUT_S = 5.0


async def probe_relay(
    client: SmtpClient, *, timeout_s: float = DEFAULT_PROBE_TIMEOUT_S
) -> ProbeResult:
    """Connect (with the configured TLS), EHLO, NOOP, close. Never logs in, never sends.

    The detail names the relay, the phase and the reply code; it never holds a credential,
    since none is used.
    """
    config = client.config
    where = f"{config.host}:{config.port} ({config.security})"
    progress = Progress()
    smtp: aiosmtplib.SMTP | None = None
    try:
        async with asyncio.timeout(timeout_s):
            smtp = await client.connection()
            await client.hello(smtp, progress)
            progress.phase = Phase.NOOP
            reply = await smtp.noop()
    except TimeoutError:
        return ProbeResult(False, f"{where}: timed out after {timeout_s:g}s at {progress.phase}")
    except GatewayError as exc:
        return ProbeResult(False, f"{where}: {exc.message}")
    except SMTPResponseException as exc:
        return ProbeResult(False, f"{where}: relay answered {exc.code} at {progress.phase}")
    except (aiosmtplib.SMTPException, OSError) as exc:
        reason = " ".join(str(exc).split())[:200] or type(exc).__name__
        return ProbeResult(False, f"{where}: {progress.phase} failed: {reason}")
    finally:
        if smtp is not None:
            client.release(smtp)
    return ProbeResult(True, f"{where}: ready ({reply.code} to NOOP)")
