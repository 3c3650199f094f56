"""Caller identity: bearer tokens, client certificates and the authorization policy."""
