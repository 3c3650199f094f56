"""Periods as the dictionary applies them, its rounding rules, and the business sources'
refusals, on real SQLite files and PostgreSQL."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone
from decimal import Decimal
from pathlib import Path

import pytest

from gateway.dictionary.definitions import Currency, PeriodKind
from gateway.dictionary.figures import money, money_per, ratio
from gateway.dictionary.period import GRPC_FIELDS, HTTP_FIELDS, Period, check_period, parse_instant
from gateway.dictionary.source_by_url import open_source
from gateway.errors import InvalidField, MetricSourceInvalid, MetricSourceUnavailable, MissingField
from tests.support.business_db import POSTGRES_SERVER

START = datetime(2026, 3, 1, tzinfo=UTC)
END = datetime(2026, 4, 1, tzinfo=UTC)
SAR = Currency(code="SAR", minor_digits=2)
KWD = Currency(code="KWD", minor_digits=3)
JPY = Currency(code="JPY", minor_digits=0)


def test_each_period_kind_keeps_the_bounds_it_uses() -> None:
    assert check_period(PeriodKind.WITHIN, START, END, GRPC_FIELDS) == Period(
        PeriodKind.WITHIN, START, END
    )
    assert check_period(PeriodKind.AS_OF_END, START, END, GRPC_FIELDS) == Period(
        PeriodKind.AS_OF_END, None, END
    )
    assert check_period(PeriodKind.AS_OF_END, None, END, GRPC_FIELDS).end == END
    assert check_period(PeriodKind.CURRENT, None, None, GRPC_FIELDS) == Period(PeriodKind.CURRENT)


@pytest.mark.parametrize(
    ("kind", "start", "end", "error", "field"),
    [
        (PeriodKind.WITHIN, None, END, MissingField, "from"),
        (PeriodKind.WITHIN, START, None, MissingField, "to"),
        (PeriodKind.AS_OF_END, START, None, MissingField, "to"),
        (PeriodKind.WITHIN, END, START, InvalidField, "to"),
        (PeriodKind.CURRENT, END, END, InvalidField, "to"),
    ],
)
def test_a_bad_period_names_the_field(
    kind: PeriodKind,
    start: datetime | None,
    end: datetime | None,
    error: type[Exception],
    field: str,
) -> None:
    with pytest.raises(error) as caught:
        check_period(kind, start, end, HTTP_FIELDS)
    assert [v.field for v in caught.value.violations] == [field]  # type: ignore[attr-defined]


def test_instants_need_a_time_zone_and_dates_are_utc_midnights() -> None:
    assert parse_instant("from", "2026-03-01") == START
    assert parse_instant("from", "2026-03-01T03:00:00+03:00") == START
    assert parse_instant("from", "2026-03-01T00:00:00Z") == START
    plus_three = timezone(timedelta(hours=3))
    assert parse_instant("to", "2026-04-01T03:00:00.5+03:00") == datetime(
        2026, 4, 1, 3, 0, 0, 500000, tzinfo=plus_three
    )
    for text in ("2026-03-01T00:00:00", "March", "2026-13-01", "x" * 100, ""):
        with pytest.raises(InvalidField) as caught:
            parse_instant("from", text)
        assert [v.field for v in caught.value.violations] == ["from"]


def test_money_is_exact_and_quotients_round_half_to_even() -> None:
    assert format(money(410050, SAR), "f") == "4100.50"
    assert format(money(1, KWD), "f") == "0.001"
    assert format(money(1500, JPY), "f") == "1500"
    assert format(money_per(200050, 4, SAR), "f") == "500.12"  # 500.125: to the even cent
    assert format(money_per(200150, 4, SAR), "f") == "500.38"  # 500.375: up to the even cent
    assert format(money_per(10, 3, KWD), "f") == "0.003"


def test_ratios_round_half_to_even_and_never_divide_by_zero() -> None:
    assert ratio(3, 7, (), "none").value == Decimal("0.4286")
    assert ratio(1, 8, (), "none").value == Decimal("0.1250")
    assert ratio(1, 20000, (), "none").value == Decimal("0.0000")  # 0.00005: to the even
    assert ratio(3, 20000, (), "none").value == Decimal("0.0002")  # 0.00015: up to the even
    nothing = ratio(0, 0, (), "no_leads")
    assert (nothing.value, nothing.null_reason) == (None, "no_leads")


async def test_a_sqlite_read_that_outlives_its_time_is_stopped(tmp_path: Path) -> None:
    path = tmp_path / "business.db"
    path.touch()
    source = open_source(f"sqlite://{path}")
    query = source.query()
    endless = (
        "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n) "
        f"SELECT COUNT(*) FROM n WHERE i > {query.value(0)}"
    )
    with pytest.raises(MetricSourceUnavailable):
        await source.row(query, endless, 0.05)


async def test_a_missing_sqlite_file_is_unavailable_and_never_created(tmp_path: Path) -> None:
    path = tmp_path / "absent.db"
    source = open_source(f"sqlite://{path}")
    with pytest.raises(MetricSourceUnavailable):
        await source.row(source.query(), "SELECT 1", 5)
    assert not path.exists()


async def test_postgresql_names_a_missing_table_and_reads_in_a_read_only_transaction() -> None:
    source = open_source(f"{POSTGRES_SERVER}?search_path=no_such_schema_here")
    try:
        with pytest.raises(MetricSourceInvalid, match='relation "deals" does not exist'):
            await source.row(source.query(), "SELECT COUNT(*) FROM deals", 5)
        with pytest.raises(MetricSourceUnavailable, match="ReadOnlySQLTransactionError"):
            await source.row(source.query(), "CREATE TABLE written (x int)", 5)
        query = source.query()
        assert await source.row(query, f"SELECT {query.value(41)}::int + 1", 5) == (42,)
    finally:
        await source.close()
