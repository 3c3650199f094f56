"""The HTTP side around the chain: what comes before a request becomes a governed call.

``gateway.api.http`` holds the routes, which run the chain; the modules here hold the host
names the side answers to (``hosts``), the development sign-in (``login``, ``signed``),
refusals before the chain and the answer every refusal gets (``refusals``), bounds on
connections (``connections``) and building the server with its TLS (``server``).
"""
