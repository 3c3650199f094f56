"""Computes a metric for a tenant: its one implementation, over the gateway's state or the
tenant's business database, with the dictionary's units and currency around the figure.

The calculator owns the business databases' connections: each tenant's is opened on its
first figure and closed when the gateway stops.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import datetime

from gateway.clock import utc_now
from gateway.dictionary.business.inputs import BusinessInputs
from gateway.dictionary.definitions import Dictionary, Metric, SourceKind, Unit, dictionary
from gateway.dictionary.figures import Figure
from gateway.dictionary.implementations import BUSINESS, GATEWAY, GatewayState
from gateway.dictionary.period import Period
from gateway.dictionary.settings import DictionarySettings
from gateway.dictionary.source_by_url import open_source
from gateway.dictionary.sources import Source
from gateway.errors import GatewayError, MetricSourceNotConfigured

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Computed:
    """A figure with what it means: its metric, the period it counts, its currency."""

    metric: Metric
    figure: Figure
    period: Period
    currency: str  # the reporting currency for money, "" for ratios
    computed_at: datetime
    dictionary_version: str


class MetricCalculator:
    def __init__(
        self,
        settings: DictionarySettings,
        state: GatewayState,
        *,
        clock: Callable[[], datetime] = utc_now,
        book: Dictionary | None = None,
    ) -> None:
        settings.check_urls()
        self._settings = settings
        self._state = state
        self._clock = clock
        self._book = book or dictionary()
        currency = self._book.currency(settings.currency)
        if currency is None:
            raise ValueError(f"dictionary.currency {settings.currency!r} is not in the dictionary")
        self._currency = currency
        self._sources: dict[str, Source] = {}

    @property
    def reporting_currency(self) -> str:
        return self._currency.code

    async def compute(
        self, tenant: str, metric: Metric, period: Period, *, timeout_s: float
    ) -> Computed:
        now = self._clock()
        if metric.source is SourceKind.BUSINESS_DATABASE:
            inputs = BusinessInputs(
                self._source(tenant, metric),
                period,
                self._currency,
                min(timeout_s, self._settings.query_timeout_s),
            )
            with _naming(metric, tenant):
                figure = await BUSINESS[metric.name](inputs)
        else:
            figure = await GATEWAY[metric.name](self._state, tenant, period, now)
        return Computed(
            metric,
            figure,
            period,
            self._currency.code if metric.unit is Unit.MONEY else "",
            now,
            self._book.version,
        )

    def _source(self, tenant: str, metric: Metric) -> Source:
        source = self._sources.get(tenant)
        if source is None:
            url = self._settings.database_for(tenant)
            if url is None:
                raise MetricSourceNotConfigured(
                    f"{metric.name} reads your tenant's business database, which this gateway "
                    "does not name; an operator must set dictionary.database_url (the default "
                    "tenant) or dictionary.tenant_databases",
                    metadata={"metric": metric.name},
                )
            source = self._sources[tenant] = open_source(url)
        return source

    async def close(self) -> None:
        """Closes every tenant's connections, logging and never raising."""
        sources, self._sources = self._sources, {}
        for tenant, source in sources.items():
            try:
                await source.close()
            except Exception:
                log.exception("closing the metrics database of tenant %s failed", tenant)


@contextlib.contextmanager
def _naming(metric: Metric, tenant: str) -> Iterator[None]:
    """Adds the metric to a source's refusal, and logs it (without the database's address)."""
    try:
        yield
    except GatewayError as error:
        log.warning(
            "metric %s of tenant %s: %s: %s", metric.name, tenant, error.reason, error.message
        )
        raise error.with_metadata(metric=metric.name) from None
