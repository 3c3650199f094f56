"""The semantic metric dictionary: the canonical business metrics, defined once.

``metrics.v1.json`` defines every metric (meaning in English and Arabic, owner, unit, how a
period applies, the tables and columns it reads, rounding and when it is null) and the table
shapes the business metrics read; ``metrics.v1.schema.json`` is its published schema. Each
metric has exactly one implementation (``implementations.py``), computed from the gateway's
own state or from the tenant's business database (``sources.py``).
"""
