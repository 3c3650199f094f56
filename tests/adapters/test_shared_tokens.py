"""One token request at a time per vendor account, whatever the number of calls."""

from __future__ import annotations

import asyncio

import jwt
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from adapters.shared.jwt_grant import jwt_assertion
from adapters.shared.tokens import AccessToken, SingleFlightTokens


class Grant:
    """A token endpoint that answers after the test lets it."""

    def __init__(self) -> None:
        self.requests = 0
        self.release = asyncio.Event()
        self.fail_next = False

    async def fetch(self, timeout_s: float) -> AccessToken:
        self.requests += 1
        number = self.requests
        await self.release.wait()
        if self.fail_next:
            self.fail_next = False
            raise RuntimeError("the token endpoint refused")
        return AccessToken(f"token-{number}")


async def test_fifty_concurrent_calls_share_one_token_request() -> None:
    grant = Grant()
    tokens = SingleFlightTokens(grant.fetch)
    calls = [asyncio.create_task(tokens.get(5.0)) for _ in range(50)]
    await asyncio.sleep(0)
    grant.release.set()
    assert set(await asyncio.gather(*calls)) == {"token-1"}
    assert grant.requests == 1
    assert await tokens.get(5.0) == "token-1"  # cached
    assert grant.requests == 1


async def test_a_rejected_token_is_replaced_once_for_a_burst_of_refusals() -> None:
    grant = Grant()
    grant.release.set()
    tokens = SingleFlightTokens(grant.fetch)
    first = await tokens.get(5.0)
    for _ in range(20):
        tokens.reject(first)
    second = await asyncio.gather(*(tokens.get(5.0) for _ in range(20)))
    assert set(second) == {"token-2"}
    tokens.reject(first)  # a late refusal of the old token keeps the new one
    assert await tokens.get(5.0) == "token-2"
    assert grant.requests == 2


async def test_an_expired_token_is_obtained_again_before_it_lapses() -> None:
    now = [1000.0]
    grant = Grant()
    grant.release.set()

    async def fetch(timeout_s: float) -> AccessToken:
        await grant.fetch(timeout_s)
        return AccessToken(f"token-{grant.requests}", expires_at=now[0] + 3600)

    tokens = SingleFlightTokens(fetch, refresh_before_s=60, clock=lambda: now[0])
    assert await tokens.get(5.0) == "token-1"
    now[0] += 3600 - 61
    assert await tokens.get(5.0) == "token-1"
    now[0] += 2
    assert await tokens.get(5.0) == "token-2"


async def test_a_failed_request_fails_its_waiters_and_is_asked_again() -> None:
    grant = Grant()
    grant.fail_next = True
    tokens = SingleFlightTokens(grant.fetch)
    waiters = [asyncio.create_task(tokens.get(5.0)) for _ in range(3)]
    await asyncio.sleep(0)
    grant.release.set()
    results = await asyncio.gather(*waiters, return_exceptions=True)
    assert all(isinstance(r, RuntimeError) for r in results)
    assert await tokens.get(5.0) == "token-2"


async def test_a_waiter_that_gives_up_does_not_cancel_the_others_request() -> None:
    grant = Grant()
    tokens = SingleFlightTokens(grant.fetch)
    impatient = asyncio.create_task(tokens.get(0.01))
    patient = asyncio.create_task(tokens.get(5.0))
    with pytest.raises(TimeoutError):
        await impatient
    grant.release.set()
    assert await patient == "token-1"
    assert grant.requests == 1


def test_the_assertion_is_signed_for_the_audience() -> None:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    pem = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    ).decode()
    assertion = jwt_assertion(
        issuer="client-id",
        subject="user@example.com",
        audience="login.example.com",
        private_key_pem=pem,
        scope="signature impersonation",
    )
    claims = jwt.decode(
        assertion, key.public_key(), algorithms=["RS256"], audience="login.example.com"
    )
    assert claims["iss"] == "client-id"
    assert claims["sub"] == "user@example.com"
    assert claims["scope"] == "signature impersonation"
    assert claims["exp"] - claims["iat"] == 180
