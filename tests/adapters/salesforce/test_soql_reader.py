"""The Salesforce sandbox's SOQL reader reads back every query the connector writes, value for
value (so the sandbox finds what the query says), and refuses text outside that subset."""

from __future__ import annotations

import datetime
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from adapters.salesforce.operations import QueryRecords
from adapters.salesforce.soql_reader import Comparison, SoqlError, parse

FIELDS = ["Id", "LastName", "Email", "Amount", "CloseDate", "CreatedDate", "Account.Name"]
# What a filter's text may hold: of the control characters, only tab, CR and LF.
UNSENDABLE = [*map(chr, range(0x00, 0x09)), "\x0b", "\x0c", *map(chr, range(0x0E, 0x20))]
TEXT = st.text(
    alphabet=st.characters(
        blacklist_categories=("Cs",),
        blacklist_characters=[*UNSENDABLE, *map(chr, range(0x7F, 0xA0))],
    ),
    max_size=60,
)
VALUES = st.one_of(
    st.builds(lambda t: ("string", t, t), TEXT),
    st.builds(
        lambda n: ("number", n, float(n)),
        st.floats(min_value=-1e12, max_value=1e12, allow_nan=False).map(lambda n: round(n, 4)),
    ),
    st.builds(lambda b: ("boolean", b, b), st.booleans()),
    st.builds(
        lambda d: ("date", d.isoformat(), d),
        st.dates(min_value=datetime.date(1900, 1, 1), max_value=datetime.date(2999, 12, 31)),
    ),
    st.builds(
        lambda d: ("datetime", d.strftime("%Y-%m-%dT%H:%M:%SZ"), d),
        st.datetimes(
            min_value=datetime.datetime(1900, 1, 1),
            max_value=datetime.datetime(2999, 12, 31),
            timezones=st.just(datetime.UTC),
        ).map(lambda d: d.replace(microsecond=0)),
    ),
)
CONDITIONS = st.lists(
    st.tuples(st.sampled_from(FIELDS), st.sampled_from(["=", "!="]), VALUES), max_size=4
)


@settings(max_examples=200)
@given(
    fields=st.lists(st.sampled_from(FIELDS), min_size=1, max_size=4, unique=True),
    conditions=CONDITIONS,
    order=st.lists(st.tuples(st.sampled_from(FIELDS), st.booleans()), max_size=3),
    limit=st.integers(min_value=1, max_value=200),
)
def test_every_query_the_connector_writes_reads_back_as_it_was_asked(
    fields: list[str],
    conditions: list[tuple[str, str, tuple[str, Any, Any]]],
    order: list[tuple[str, bool]],
    limit: int,
) -> None:
    query = QueryRecords.model_validate(
        {
            "sobject": "Opportunity",
            "fields": fields,
            "where": [
                {"field": field, "op": op, kind: sent} for field, op, (kind, sent, _) in conditions
            ],
            "order_by": [
                {"field": field, "direction": "desc" if descending else "asc"}
                for field, descending in order
            ],
            "limit": limit,
        }
    )
    parsed = parse(query.to_soql())
    assert (parsed.sobject, parsed.fields, parsed.order_by, parsed.limit) == (
        "Opportunity",
        fields,
        order,
        limit,
    )
    assert parsed.where == [
        Comparison(field, op, literal) for field, op, (_, _, literal) in conditions
    ]


def test_comparisons_hold_as_soql_compares() -> None:
    assert Comparison("Email", "=", "JANE@example.com").holds("jane@example.com")
    assert Comparison("Amount", ">", 10.0).holds(11)
    assert not Comparison("Amount", ">", 10.0).holds("11")  # another type never orders
    assert not Comparison("Amount", "<", 10.0).holds(None)
    assert Comparison("Amount", "=", None).holds(None)
    assert Comparison("CloseDate", "<=", datetime.date(2026, 1, 31)).holds("2026-01-31")
    stamp = datetime.datetime(2026, 1, 31, 12, 0, tzinfo=datetime.UTC)
    assert Comparison("CreatedDate", ">", stamp).holds("2026-01-31T12:00:01.000+0000")


@pytest.mark.parametrize(
    "text",
    [
        "DELETE FROM Lead",
        "SELECT Id FROM Lead",  # the connector always writes a LIMIT
        "SELECT Id FROM Lead WHERE Name = 'x' OR Name = 'y' LIMIT 1",
        "SELECT Id FROM Lead WHERE Name = 'x LIMIT 1",
        "SELECT Id FROM Lead WHERE Name = 'a\\qb' LIMIT 1",
        "SELECT Id FROM Lead LIMIT 0",
        "SELECT Id FROM Lead LIMIT 1.5",
        "SELECT Id FROM Lead WHERE CloseDate = 2026-02-30 LIMIT 1",
        "SELECT Id FROM Lead LIMIT 1 OFFSET 5",
        "SELECT (SELECT Id FROM Contacts) FROM Account LIMIT 1",
    ],
)
def test_text_outside_the_connectors_subset_is_refused(text: str) -> None:
    with pytest.raises(SoqlError):
        parse(text)
