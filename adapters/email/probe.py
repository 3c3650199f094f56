"""The live health probe: can the relay be reached and does it speak SMTP?"""

from __future__ import annotations

import asyncio

import aiosmtplib
from aiosmtplib import SMTPResponseException

from gateway.contract import ProbeResult
from gateway.errors import GatewayError

from .client import Phase, Progress, SmtpClient, failure_error

DEFAULT_PROBE_TIMEOUT_S = 5.0


async def probe_relay(
    client: SmtpClient, *, timeout_s: float = DEFAULT_PROBE_TIMEOUT_S
) -> ProbeResult:
    """Connect (with the configured TLS), EHLO, NOOP, close. Never logs in, never sends.

    A failure carries the domain error of its phase (what the board shows: its reason, phase
    and reply code). The detail names the relay, the phase and the reply code; it never holds
    the relay's words, nor a credential, since none is used.
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
    except TimeoutError as exc:
        detail = f"{where}: timed out after {timeout_s:g}s at {progress.phase}"
        return ProbeResult(False, detail, failure_error(exc, progress.phase))
    except GatewayError as exc:
        return ProbeResult(False, f"{where}: {exc.message}", exc)
    except SMTPResponseException as exc:
        detail = f"{where}: relay answered {exc.code} at {progress.phase}"
        return ProbeResult(False, detail, failure_error(exc, progress.phase))
    except (aiosmtplib.SMTPException, OSError) as exc:
        detail = f"{where}: {progress.phase} failed: {type(exc).__name__}"
        return ProbeResult(False, detail, failure_error(exc, progress.phase))
    finally:
        if smtp is not None:
            client.release(smtp)
    return ProbeResult(True, f"{where}: ready ({reply.code} to NOOP)")
