"""The business database a ``dictionary`` URL names, opened as a ``Source``.

Apart from ``sources.py`` so that the SQLite source and the shared parts never import the
PostgreSQL one, which imports them.
"""

from __future__ import annotations

from pathlib import Path
from urllib.parse import unquote, urlsplit

from gateway.dictionary.sources import (
    POSTGRES_SCHEMES,
    SQLITE_SCHEMES,
    Source,
    SqliteSource,
    scheme_of,
)


def open_source(url: str) -> Source:
    """The source a ``dictionary`` database URL names: ``sqlite:///absolute/path.db`` or
    ``sqlite:relative/path.db``, or ``postgresql://user@host:port/database`` (query
    parameters such as ``search_path`` are passed to the server as settings)."""
    scheme = scheme_of(url)
    if scheme in SQLITE_SCHEMES:
        return SqliteSource(Path(unquote(urlsplit(url).path)))
    if scheme in POSTGRES_SCHEMES:
        # Imported on first use: asyncpg takes a tenth of a second to import.
        from gateway.dictionary.postgres import PostgresSource

        return PostgresSource(url)
    raise ValueError("a metrics database URL starts with sqlite: or postgresql:")
