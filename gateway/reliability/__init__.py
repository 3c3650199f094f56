"""Retries, idempotency, circuit breaking and rate limiting around each vendor call."""
