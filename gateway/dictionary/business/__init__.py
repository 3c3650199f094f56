"""The business metrics: one module each, over the documented table shapes."""
