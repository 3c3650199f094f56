"""The HTTP side: liveness, the connectors' health as JSON, and the approval queue.

``gateway.http_api`` holds the routes; the modules here hold what every route relies on: the
host names it answers to (``hosts``), who is calling (``callers``, ``login``, ``signed``), the
one mapping of errors to answers and audit rows (``refusals``), bounds on connections
(``connections``) and building the server with its TLS (``server``).
"""
